package testenv

import (
	"bytes"
	"sync"
)

// SyncBuffer is an output sink safe for concurrent writers (a server's
// goroutines, a child process's stdout and stderr), read back with String.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
