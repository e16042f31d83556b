package archive

import (
	"io"
	"sync"
)

// chunkPipe carries the stream from the reader to the sink in large chunks through a
// small queue, so the two sides work in parallel and meet once per chunk, not once per
// read as with io.Pipe. Memory is bounded by chunkSize * queueLen.
type chunkPipe struct {
	ch      chan []byte
	done    chan struct{}
	pending []byte
	cur     []byte
	werr    error // set by the writer before ch is closed
	rerr    error // set by the reader before done is closed
	wOnce   sync.Once
	rOnce   sync.Once
}

const (
	chunkSize = 1 << 20
	queueLen  = 4
)

func newChunkPipe() *chunkPipe {
	return &chunkPipe{ch: make(chan []byte, queueLen), done: make(chan struct{})}
}

// Write queues p; it blocks only while the queue is full.
func (p *chunkPipe) Write(b []byte) (int, error) {
	n := len(b)
	for len(b) > 0 {
		if p.pending == nil {
			p.pending = make([]byte, 0, chunkSize)
		}
		k := min(len(b), chunkSize-len(p.pending))
		p.pending = append(p.pending, b[:k]...)
		b = b[k:]
		if len(p.pending) == chunkSize {
			if err := p.send(); err != nil {
				return n - len(b), err
			}
		}
	}
	return n, nil
}

func (p *chunkPipe) send() error {
	if len(p.pending) == 0 {
		return nil
	}
	select {
	case p.ch <- p.pending:
		p.pending = nil
		return nil
	case <-p.done:
		return p.rerr
	}
}

// CloseWrite ends the stream: with err == nil the reader sees io.EOF after the last
// byte; otherwise it sees err (and no pending bytes).
func (p *chunkPipe) CloseWrite(err error) {
	p.wOnce.Do(func() {
		if err == nil {
			if serr := p.send(); serr != nil {
				err = serr
			}
		}
		if err == nil {
			err = io.EOF
		}
		p.werr = err
		close(p.ch)
	})
}

func (p *chunkPipe) Read(b []byte) (int, error) {
	if len(p.cur) == 0 {
		select {
		case c, ok := <-p.ch:
			if !ok {
				return 0, p.werr
			}
			p.cur = c
		case <-p.done:
			return 0, io.ErrClosedPipe
		}
	}
	n := copy(b, p.cur)
	p.cur = p.cur[n:]
	return n, nil
}

// CloseRead stops the reader side: later writes fail with err.
func (p *chunkPipe) CloseRead(err error) {
	p.rOnce.Do(func() {
		if err == nil {
			err = io.ErrClosedPipe
		}
		p.rerr = err
		close(p.done)
	})
}

// Close is the reader's close, for an HTTP client that closes a request body.
func (p *chunkPipe) Close() error {
	p.CloseRead(nil)
	return nil
}

// sinkReader is what a sink sees: a reader whose Close cannot end the writer's side.
type sinkReader struct{ p *chunkPipe }

func (s sinkReader) Read(b []byte) (int, error) { return s.p.Read(b) }
func (s sinkReader) Close() error               { return s.p.Close() }
