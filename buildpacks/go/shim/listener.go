// The connection to the host: a net.Listener whose Accept dials host.sock (on a swarm, the gateway over TLS), keeping
// a few idle connections open.
package main

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// The host listens on a socket in a folder this container can only read, and the shim dials in: the host never
// connects to a path the function controls. `spare` connections wait for the host at all times; each one the
// host starts using frees a slot, and a new dial takes it.
type dialListener struct {
	dial   dialer
	slots  chan struct{}
	mu     sync.Mutex
	used   map[net.Conn]bool
	retry  time.Duration
	closed chan struct{}
}

func newDialListener(dial dialer, spare int) *dialListener {
	l := &dialListener{dial: dial, slots: make(chan struct{}, spare), used: map[net.Conn]bool{}, retry: 10 * time.Millisecond, closed: make(chan struct{})}
	for i := 0; i < spare; i++ {
		l.slots <- struct{}{}
	}
	return l
}

func (l *dialListener) Accept() (net.Conn, error) {
	for {
		select {
		case <-l.slots:
		case <-l.closed:
			return nil, net.ErrClosed
		}
		conn, err := l.dial("")
		if err == nil {
			l.mu.Lock()
			l.retry = 10 * time.Millisecond
			l.used[conn] = false
			l.mu.Unlock()
			return conn, nil
		}
		// Nobody listens yet (or any more): back off, then try again.
		l.giveBack(true)
	}
}

// giveBack returns a slot, after a pause that grows while dials fail or idle connections end (the host restarted).
func (l *dialListener) giveBack(backOff bool) {
	if !backOff {
		l.slots <- struct{}{}
		return
	}
	l.mu.Lock()
	wait := l.retry
	l.retry *= 2
	if l.retry > time.Second {
		l.retry = time.Second
	}
	l.mu.Unlock()
	time.AfterFunc(wait, func() { l.slots <- struct{}{} })
}

// connState is the http.Server's hook: the first request on a connection frees its slot; an idle connection that
// ends without one frees it after a pause.
func (l *dialListener) connState(conn net.Conn, state http.ConnState) {
	l.mu.Lock()
	used, known := l.used[conn]
	switch {
	case !known:
		l.mu.Unlock()
		return
	case state == http.StateActive && !used:
		l.used[conn] = true
		l.mu.Unlock()
		l.giveBack(false)
		return
	case state == http.StateClosed || state == http.StateHijacked:
		delete(l.used, conn)
		l.mu.Unlock()
		if !used {
			l.giveBack(true)
		}
		return
	}
	l.mu.Unlock()
}

func (l *dialListener) Close() error {
	close(l.closed)
	return nil
}

func (l *dialListener) Addr() net.Addr { return &net.UnixAddr{Name: "host.sock", Net: "unix"} }
