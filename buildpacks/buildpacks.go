// Package buildpacks holds what Wharf builds source apps with, embedded in
// the binary: the definitions of the stack images (wharf/stack-build, where
// buildpacks run, and wharf/stack-run, what apps run on), the built-in
// Heroku-style buildpacks (bin/detect, bin/compile, bin/release), the driver
// script that runs them in a build container, and the static file server
// the run image carries.
package buildpacks

import (
	"embed"
	"io/fs"
)

//go:embed stack/build.Dockerfile stack/run.Dockerfile stack/wharf-launch stack/static/main.go
var stack embed.FS

//go:embed all:builtin driver.sh
var builtin embed.FS

// GoVersion is the Go toolchain the build stack carries (used to compile
// the static file server, and by Go apps that ask for this version).
const GoVersion = "go1.26.8"

// Stack returns the stack images' build files: build.Dockerfile,
// run.Dockerfile, wharf-launch and static/main.go.
func Stack() fs.FS {
	sub, err := fs.Sub(stack, "stack")
	if err != nil {
		panic(err) // the embedded tree is fixed at compile time
	}
	return sub
}

// Builtin returns the built-in buildpacks, one directory per buildpack
// (go, nodejs, python, static, procfile), each with bin/detect, bin/compile
// and bin/release.
func Builtin() fs.FS {
	sub, err := fs.Sub(builtin, "builtin")
	if err != nil {
		panic(err)
	}
	return sub
}

// Driver is the shell script run in the build container: driver.sh
// BUILDPACK_DIR... runs each buildpack's detect and compile in order and the
// last one's release.
func Driver() []byte {
	b, err := builtin.ReadFile("driver.sh")
	if err != nil {
		panic(err)
	}
	return b
}
