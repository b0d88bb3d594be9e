package logs

import (
	"bufio"
	"context"
	"io"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/wharfhq/wharf/store"
)

// maxLine bounds one stored line; longer output is cut.
const maxLine = 16 << 10

// source is one container being followed.
type source struct {
	id, app, process string
	task             bool // id is a swarm task's, read through TaskLogs
}

// follow copies a container's output into c.lines until it stops or ctx
// ends, starting after the last line already stored for it.
func (c *Collector) follow(ctx context.Context, src source) {
	last, err := c.opt.Store.LastLogTime(ctx, src.id)
	if err != nil {
		c.opt.Logger.Warn("log collector: last line", "container", src.id, "err", err)
		return
	}
	opts := container.LogsOptions{ShowStdout: true, ShowStderr: true, Follow: true, Timestamps: true, Since: sinceArg(last)}
	logs := c.opt.Docker.ContainerLogs
	if src.task {
		logs = c.opt.Docker.TaskLogs
	}
	rc, err := logs(ctx, src.id, opts)
	if err != nil {
		if ctx.Err() == nil {
			c.opt.Logger.Warn("log collector: following", "container", src.id, "err", err)
		}
		return
	}
	defer rc.Close()
	pr, pw := io.Pipe()
	go func() {
		_, err := stdcopy.StdCopy(pw, pw, rc)
		pw.CloseWithError(err)
	}()
	defer pr.Close()
	c.scanLines(ctx, pr, src)
}

func (c *Collector) scanLines(ctx context.Context, r io.Reader, src source) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		l := parseLine(sc.Text())
		l.App, l.Process, l.Container = src.app, src.process, src.id
		select {
		case c.lines <- l:
		case <-ctx.Done():
			return
		}
	}
}

// parseLine splits Docker's "2006-01-02T15:04:05.999999999Z text" line.
func parseLine(s string) store.LogLine {
	l := store.LogLine{Time: time.Now().UTC(), Line: s}
	if ts, rest, ok := strings.Cut(s, " "); ok {
		if t, err := time.Parse(time.RFC3339Nano, ts); err == nil {
			l.Time, l.Line = t, rest
		}
	}
	// Postgres text takes neither NUL nor invalid UTF-8.
	l.Line = strings.ToValidUTF8(strings.ReplaceAll(strings.TrimRight(l.Line, "\r"), "\x00", ""), "\uFFFD")
	if len(l.Line) > maxLine {
		l.Line = l.Line[:maxLine]
	}
	return l
}
