package builder

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path"
	"strings"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"

	"github.com/wharfhq/wharf"
	"github.com/wharfhq/wharf/buildpacks"
)

// maxBuildpackFiles bounds what a fetched buildpack may hold (bytes).
const maxBuildpackFiles = 64 << 20

// chosenBuildpacks returns the buildpacks the app asked for: config
// BUILDPACK_URL, else the lines of a root .buildpacks file; nil when it
// asked for none (detection decides).
func (s *source) chosenBuildpacks(config map[string]string) ([]string, error) {
	if u := strings.TrimSpace(config["BUILDPACK_URL"]); u != "" {
		return []string{u}, nil
	}
	body, err := s.readFile(".buildpacks")
	if wharf.ErrorCode(err) == wharf.ENOTFOUND {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var urls []string
	for _, line := range strings.Split(string(body), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			urls = append(urls, line)
		}
	}
	return urls, nil
}

// isBuiltin reports whether name is a built-in buildpack's directory.
func isBuiltin(name string) bool {
	fi, err := fs.Stat(buildpacks.Builtin(), path.Join(name, "bin", "compile"))
	return err == nil && !fi.IsDir()
}

// addBuildpacks puts the built-ins and the driver into files and, for each
// of urls, the fetched buildpack; it returns the buildpack directories in
// the container, in order.
func addBuildpacks(ctx context.Context, urls []string, files map[string]string, out io.Writer) ([]string, error) {
	if err := fsFiles(buildpacks.Builtin(), "", files); err != nil {
		return nil, fmt.Errorf("reading the built-in buildpacks: %w", err)
	}
	files["driver.sh"] = string(buildpacks.Driver())
	var dirs []string
	for i, u := range urls {
		if isBuiltin(u) {
			dirs = append(dirs, "/buildpacks/"+u)
			continue
		}
		name := fmt.Sprintf("custom-%d-%s", i+1, repoName(u))
		fmt.Fprintf(out, "-----> Fetching buildpack %s\n", redactURL(u))
		if err := fetchBuildpack(ctx, u, name, files); err != nil {
			return nil, err
		}
		dirs = append(dirs, "/buildpacks/"+name)
	}
	return dirs, nil
}

// fetchBuildpack clones the git URL (a #ref suffix pins a branch, tag or
// commit) and adds its files under name/.
func fetchBuildpack(ctx context.Context, rawURL, name string, files map[string]string) error {
	repoURL, ref, _ := strings.Cut(rawURL, "#")
	u, err := url.Parse(repoURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http" && u.Scheme != "git" && u.Scheme != "ssh" && u.Scheme != "file") {
		return wharf.Errorf(wharf.EINVALID, "buildpack %q: want a git URL (https://, ssh://, git:// or file://) or a built-in name (go, nodejs, python, static, procfile)", rawURL)
	}
	dir, err := os.MkdirTemp("", "wharf-buildpack-")
	if err != nil {
		return fmt.Errorf("fetching buildpack: %w", err)
	}
	defer os.RemoveAll(dir)
	repo, err := git.PlainCloneContext(ctx, dir, false, &git.CloneOptions{URL: repoURL})
	if err != nil {
		return wharf.Errorf(wharf.EINVALID, "fetching buildpack %s: %v", redactURL(rawURL), err)
	}
	if ref != "" {
		if err := checkoutRef(repo, ref); err != nil {
			return wharf.Errorf(wharf.EINVALID, "buildpack %s: %v", redactURL(rawURL), err)
		}
	}
	return readBuildpackDir(dir, name, files)
}

func checkoutRef(repo *git.Repository, ref string) error {
	var h *plumbing.Hash
	var err error
	for _, rev := range []string{"refs/remotes/origin/" + ref, "refs/tags/" + ref, ref} {
		if h, err = repo.ResolveRevision(plumbing.Revision(rev)); err == nil {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("no branch, tag or commit %q", ref)
	}
	wt, err := repo.Worktree()
	if err != nil {
		return err
	}
	return wt.Checkout(&git.CheckoutOptions{Hash: *h, Force: true})
}

// readBuildpackDir adds the files of a checked-out buildpack under name/.
func readBuildpackDir(dir, name string, files map[string]string) error {
	var total int
	fsys := os.DirFS(dir)
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".git" {
			return fs.SkipDir
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := fs.ReadFile(fsys, p)
		if total += len(b); total > maxBuildpackFiles {
			return fmt.Errorf("larger than %d MiB", maxBuildpackFiles>>20)
		}
		files[path.Join(name, p)] = string(b)
		return err
	})
	if err != nil {
		return wharf.Errorf(wharf.EINVALID, "reading buildpack %s: %v", name, err)
	}
	if _, ok := files[path.Join(name, "bin", "compile")]; !ok {
		return wharf.Errorf(wharf.EINVALID, "buildpack %s has no bin/compile", name)
	}
	return nil
}

// repoName is a short, safe directory name for a buildpack URL.
func repoName(u string) string {
	u, _, _ = strings.Cut(u, "#")
	base := strings.TrimSuffix(path.Base(strings.TrimRight(u, "/")), ".git")
	var b strings.Builder
	for _, c := range base {
		if c == '-' || c == '_' || c == '.' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			b.WriteRune(c)
		}
	}
	if b.Len() == 0 || strings.HasPrefix(b.String(), ".") {
		return "buildpack"
	}
	return b.String()
}

// redactURL hides a password in a buildpack URL.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	return u.Redacted()
}
