package main

import (
	"io"
	"sync"
)

// syncWriter serialises writes to w (slog handlers write concurrently).
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
