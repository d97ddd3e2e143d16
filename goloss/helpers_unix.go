//go:build unix

package goloss

import (
	"os"
	"sync"
	"sync/atomic"
)

// Helper goroutines for forRowChunksChecked: each parked on a read of its
// own pipe, woken by a one-byte write when a call has blocks for it.
//
// Why not a goroutine started per call (the fallback): a new or readied
// goroutine waits for the Go scheduler to wake an idle thread to steal it,
// and in the op on the 2-core VMs measured that took 60-300 µs, and over a
// millisecond when the process had been idle for a few (as between the
// steps of training): the 1024x1000 seed op took 1.6-1.75 ms with 2 to 5
// ms between calls against 1.0 back to back. A goroutine parked on a pipe
// waits in the netpoller: the write wakes the thread blocked in epoll_wait
// at once, which runs the helper on an idle P (1.05-1.2 ms at the same
// gaps). A parked helper holds no P and no thread of its own.
//
// One call at a time has the helpers; a call that finds them busy (another
// goroutine's call, TensorFlow's pool sharding calls at once) starts
// goroutines instead, as does a call that cannot make a pipe.

// helper is one parked goroutine: state is 1 while a job is posted for it.
type helper struct {
	state atomic.Uint32
	job   func()
	r, w  *os.File
}

var helpers struct {
	mu   sync.Mutex // held by the call using them, from runHelpers to its wait
	list []*helper
}

// runHelpers runs job on n helpers and returns a function that waits for
// them all and frees the helpers, or false (having run nothing) when
// another call has them or a new helper's pipe cannot be made.
func runHelpers(n int, job func()) (wait func(), ok bool) {
	if !helpers.mu.TryLock() {
		return nil, false
	}
	for len(helpers.list) < n {
		r, w, err := os.Pipe()
		if err != nil {
			helpers.mu.Unlock()
			return nil, false
		}
		h := &helper{r: r, w: w}
		helpers.list = append(helpers.list, h)
		go h.loop()
	}
	var wg sync.WaitGroup
	wg.Add(n)
	for _, h := range helpers.list[:n] {
		h.job = func() {
			defer wg.Done()
			job()
		}
		h.state.Store(1)
		h.w.Write([]byte{1})
	}
	return func() {
		wg.Wait()
		helpers.mu.Unlock()
	}, true
}

// loop runs the jobs posted to h, parked on its pipe between them. state
// goes back to 0 before the job runs: the next job is posted only after
// this one is done (its wait), and must find h ready for it. A byte read
// with no job posted (none is written without one) would only loop.
func (h *helper) loop() {
	var buf [1]byte
	for {
		for h.state.Load() == 0 {
			h.r.Read(buf[:])
		}
		job := h.job
		h.job = nil
		h.state.Store(0)
		job()
	}
}
