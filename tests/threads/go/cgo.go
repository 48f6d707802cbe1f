//go:build cgo

package main

// static int add(int a, int b) { return a + b; }
import "C"

import (
	"fmt"
	"sync"
)

// cgoReport calls into C from four goroutines at once: each call runs on an
// OS thread the Go runtime made with pthread_create.
func cgoReport() string {
	var wg sync.WaitGroup
	sums := make([]int, 4)
	for i := range sums {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			sums[i] = int(C.add(C.int(i), 40))
		}(i)
	}
	waitOrFail(&wg, "the cgo callers")
	return fmt.Sprint("on, C sums ", sums)
}
