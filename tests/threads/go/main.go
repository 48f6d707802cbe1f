// Goroutines on several OS threads: a channel pipeline, a WaitGroup, a
// Mutex-guarded counter, goroutines locked to their own threads, sleeps,
// time.After in a select, os/exec running /bin/echo, and an HTTP server and
// client in one process over loopback (the netpoller's edge-triggered
// epoll on sockets registered for reading and writing). Built twice by
// tests/tests/threads.rs: with CGO_ENABLED=0 (a static binary whose runtime
// makes its threads with raw clone) and as Debian's Go builds by default
// (cgo on: dynamic, threads made by pthread_create). Every wait is bounded.
package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"syscall"
	"time"
)

const waitLimit = 30 * time.Second

func fail(format string, args ...any) {
	fmt.Printf("FAIL: "+format+"\n", args...)
	os.Exit(1)
}

// waitOrFail waits for wg, failing after waitLimit instead of hanging.
func waitOrFail(wg *sync.WaitGroup, what string) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(waitLimit):
		fail("%s did not finish within %v", what, waitLimit)
	}
}

func main() {
	runtime.GOMAXPROCS(2)
	fmt.Println("GOMAXPROCS", runtime.GOMAXPROCS(0))

	// A pipeline: one feeder, four squarers, one summer.
	in, out := make(chan int), make(chan int)
	var squarers sync.WaitGroup
	for w := 0; w < 4; w++ {
		squarers.Add(1)
		go func() {
			defer squarers.Done()
			for v := range in {
				out <- v * v
			}
		}()
	}
	go func() {
		for i := 1; i <= 1000; i++ {
			in <- i
		}
		close(in)
	}()
	go func() { squarers.Wait(); close(out) }()
	sum := 0
	for v := range out {
		sum += v
	}
	fmt.Println("sum of squares 1..1000:", sum)

	// Eight goroutines add to one counter under a Mutex.
	var mu sync.Mutex
	var adders sync.WaitGroup
	counter := 0
	for g := 0; g < 8; g++ {
		adders.Add(1)
		go func() {
			defer adders.Done()
			for i := 0; i < 10000; i++ {
				mu.Lock()
				counter++
				mu.Unlock()
			}
		}()
	}
	waitOrFail(&adders, "the adders")
	fmt.Println("counter:", counter)

	// Four goroutines each locked to an OS thread, all alive at once: four
	// distinct thread ids, none of them the main thread's.
	const locked = 4
	tids := make(chan int, locked)
	release := make(chan struct{})
	var lockers sync.WaitGroup
	for i := 0; i < locked; i++ {
		lockers.Add(1)
		go func() {
			defer lockers.Done()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			tids <- syscall.Gettid()
			<-release
		}()
	}
	seen := map[int]bool{}
	for i := 0; i < locked; i++ {
		select {
		case tid := <-tids:
			seen[tid] = true
		case <-time.After(waitLimit):
			fail("locked goroutine %d did not start", i)
		}
	}
	close(release)
	waitOrFail(&lockers, "the locked goroutines")
	fmt.Println("distinct thread ids of locked goroutines:", len(seen))

	start := time.Now()
	time.Sleep(20 * time.Millisecond)
	fmt.Println("slept at least 20ms:", time.Since(start) >= 20*time.Millisecond)

	never := make(chan int)
	select {
	case <-never:
		fail("a value from a channel nobody sends on")
	case <-time.After(30 * time.Millisecond):
		fmt.Println("time.After fired")
	}
	result := make(chan string, 1)
	go func() {
		time.Sleep(10 * time.Millisecond)
		result <- "worker answered"
	}()
	select {
	case s := <-result:
		fmt.Println(s)
	case <-time.After(waitLimit):
		fail("the worker did not answer")
	}

	echoed, err := exec.Command("/bin/echo", "hello", "from", "/bin/echo").Output()
	if err != nil {
		fail("os/exec /bin/echo: %v", err)
	}
	fmt.Print("os/exec: ", string(echoed))

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fail("listen: %v", err)
	}
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "pong to %s", r.URL.Path)
	}))
	client := http.Client{Timeout: waitLimit}
	for _, path := range []string{"/a", "/b"} {
		resp, err := client.Get("http://" + ln.Addr().String() + path)
		if err != nil {
			fail("GET %s: %v", path, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			fail("reading the answer to %s: %v", path, err)
		}
		fmt.Println("http:", resp.StatusCode, string(body))
	}
	ln.Close()

	fmt.Println("cgo:", cgoReport())
}
