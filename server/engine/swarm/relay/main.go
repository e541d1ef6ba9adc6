// The relay between one function's overlay network and the gateway: it ends the TLS connections the function's
// instances open (with the certificate the platform signed, which they pin) and joins each to the gateway's Unix
// socket for that function, where the instance proves itself with its instance secret. A static binary, alone in an
// image FROM scratch, run on the manager with nothing mounted but that function's socket folder and its certificate.
package main

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"time"
)

// A handshake not finished in this time is dropped: a client that opens connections and says nothing holds none long.
const handshakeTimeout = 5 * time.Second

// The dial-in line must have gone through this soon after the handshake. Until it has, nobody has proved anything:
// a client that stays silent is dropped here, whatever the gateway does with its own end.
const dialInTimeout = 5 * time.Second

// copyBuffer is each direction's buffer: a TLS record's worth, half io.Copy's default, so a relay full of idle
// connections fits its memory limit.
const copyBuffer = 16 * 1024

func main() {
	if len(os.Args) != 7 {
		fail("usage: relay <listen address> <certificate> <key> <gateway socket> <most connections at once> <most per source address>")
	}
	listen, certFile, keyFile, target := os.Args[1], os.Args[2], os.Args[3], os.Args[4]
	most, err := strconv.Atoi(os.Args[5])
	if err != nil || most < 1 {
		fail("most connections at once: a number above 0")
	}
	perSource, err := strconv.Atoi(os.Args[6])
	if err != nil || perSource < 1 {
		fail("most per source address: a number above 0")
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		fail(err.Error())
	}
	listener, err := tls.Listen("tcp", listen, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS13})
	if err != nil {
		fail(err.Error())
	}
	// The address bound (the port too, when it was 0), for whoever started it.
	fmt.Printf("relaying %s to %s\n", listener.Addr(), target)
	// The bounds on connections: what clients (hostile code, or anyone who joined the network) can grow here is at
	// most `most` goroutine pairs, and one source address no more than `perSource` of them, so a single task cannot
	// fill the room its function's other instances need to dial in.
	slots := make(chan struct{}, most)
	sources := newCounter(perSource)
	for {
		conn, err := listener.Accept()
		if err != nil {
			// Out of file descriptors, say: waiting a little lets connections end instead of spinning on the error.
			time.Sleep(50 * time.Millisecond)
			continue
		}
		source := sourceOf(conn)
		if !sources.take(source) {
			conn.Close()
			continue
		}
		select {
		case slots <- struct{}{}:
			go func() {
				defer func() { <-slots; sources.give(source) }()
				relay(conn.(*tls.Conn), target)
			}()
		default:
			sources.give(source)
			conn.Close()
		}
	}
}

// counter bounds the connections held per source address.
type counter struct {
	mu   sync.Mutex
	most int
	held map[string]int
}

func newCounter(most int) *counter {
	return &counter{most: most, held: map[string]int{}}
}

func (c *counter) take(source string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.held[source] >= c.most {
		return false
	}
	c.held[source]++
	return true
}

func (c *counter) give(source string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.held[source] <= 1 {
		delete(c.held, source)
	} else {
		c.held[source]--
	}
}

func sourceOf(conn net.Conn) string {
	host, _, err := net.SplitHostPort(conn.RemoteAddr().String())
	if err != nil {
		return conn.RemoteAddr().String()
	}
	return host
}

func relay(client *tls.Conn, target string) {
	defer client.Close()
	client.SetDeadline(time.Now().Add(handshakeTimeout))
	if err := client.Handshake(); err != nil {
		return
	}
	client.SetDeadline(time.Time{})
	client.SetReadDeadline(time.Now().Add(dialInTimeout))
	gateway, err := net.Dial("unix", target)
	if err != nil {
		return
	}
	defer gateway.Close()
	// When either direction ends, both sides close: a pair where one end is gone is of no use to anyone, and a half
	// left open (a client that never sends again) would hold its slot for ever.
	var once sync.Once
	closeBoth := func() {
		once.Do(func() {
			client.Close()
			gateway.Close()
		})
	}
	var wait sync.WaitGroup
	wait.Add(2)
	go func() {
		defer wait.Done()
		defer closeBoth()
		copyDialIn(gateway, client)
	}()
	go func() {
		defer wait.Done()
		defer closeBoth()
		io.CopyBuffer(client, gateway, make([]byte, copyBuffer))
	}()
	wait.Wait()
}

// copyDialIn copies the client's bytes to the gateway, lifting the client's read deadline once its first line (the
// dial-in line) has gone through.
func copyDialIn(gateway net.Conn, client *tls.Conn) {
	buffer := make([]byte, copyBuffer)
	lined := false
	for {
		n, err := client.Read(buffer)
		if n > 0 {
			if _, werr := gateway.Write(buffer[:n]); werr != nil {
				return
			}
			if !lined && bytes.IndexByte(buffer[:n], '\n') >= 0 {
				lined = true
				client.SetReadDeadline(time.Time{})
			}
		}
		if err != nil {
			return
		}
	}
}

func fail(message string) {
	fmt.Fprintln(os.Stderr, message)
	os.Exit(1)
}
