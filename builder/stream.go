package builder

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/pkg/jsonmessage"

	"github.com/wharfhq/wharf"
)

// buildStream turns the engine's JSON message stream into plain text lines
// and remembers what the build reported.
type buildStream struct {
	out      io.Writer
	imageID  string // from the aux message
	fromStep string // the FROM instruction being run, "" once it is done
}

// consume reads messages until the stream ends or reports an error.
func (s *buildStream) consume(body io.Reader) error {
	dec := json.NewDecoder(body)
	for {
		var m jsonmessage.JSONMessage
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading build output: %w", err)
		}
		if err := s.handle(&m); err != nil {
			return err
		}
	}
}

func (s *buildStream) handle(m *jsonmessage.JSONMessage) error {
	switch {
	case m.Error != nil:
		return s.failure(m.Error.Message)
	case m.Aux != nil:
		var r build.Result
		if err := json.Unmarshal(*m.Aux, &r); err == nil && r.ID != "" {
			s.imageID = r.ID
		}
		return nil
	case m.Stream != "":
		s.track(m.Stream)
		return s.write(m.Stream)
	case m.Status != "" && m.Progress == nil:
		line := m.Status
		if m.ID != "" {
			line = m.ID + ": " + line
		}
		return s.write(line + "\n")
	}
	return nil
}

func (s *buildStream) write(text string) error {
	if _, err := io.WriteString(s.out, text); err != nil {
		return fmt.Errorf("writing build output: %w", err)
	}
	return nil
}

// track follows the legacy builder's "Step n/m : INSTRUCTION" lines, to
// tell a missing base image from other failures.
func (s *buildStream) track(text string) {
	if strings.HasPrefix(text, "Step ") {
		if _, instr, ok := strings.Cut(text, " : "); ok {
			s.fromStep = ""
			if f := strings.Fields(instr); len(f) > 0 && strings.EqualFold(f[0], "FROM") {
				s.fromStep = strings.TrimSpace(instr)
			}
		}
		return
	}
	if strings.Contains(text, "--->") {
		s.fromStep = ""
	}
}

// failure is the user's error for a build the engine reported as failed.
func (s *buildStream) failure(msg string) error {
	msg = oneLine(msg)
	if s.fromStep != "" {
		return wharf.Errorf(wharf.EINVALID, "build failed: %s: the base image is not available here and could not be pulled: %s", s.fromStep, msg)
	}
	return wharf.Errorf(wharf.EINVALID, "build failed: %s", msg)
}

// startError is the error for a build the engine refused to start.
func startError(ctx context.Context, tag string, err error) error {
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("building %s: %w", tag, ctx.Err())
	case cerrdefs.IsInvalidArgument(err):
		return wharf.Errorf(wharf.EINVALID, "build failed: %s", oneLine(err.Error()))
	}
	return fmt.Errorf("starting the build of %s: %w", tag, err)
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
