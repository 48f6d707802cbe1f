// Reads the clock a thousand times through the Go runtime (time.Now reads the
// wall and the monotonic clock through the vDSO's __vdso_clock_gettime when
// the runtime finds it, runtime/vdso_linux.go, else with the syscall).
package main

import (
	"fmt"
	"time"
)

func main() {
	start := time.Now()
	prev := start
	inOrder := true
	for i := 0; i < 1000; i++ {
		t := time.Now()
		if t.Before(prev) {
			inOrder = false
		}
		prev = t
	}
	fmt.Println("1000 readings in order:", inOrder)
	fmt.Println("wall clock after 2020:", start.Year() >= 2020)
}
