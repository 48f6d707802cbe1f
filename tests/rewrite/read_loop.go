// Reads /dev/zero a byte at a time through os.File, 2,000 times: every
// read goes through the runtime's Syscall6, whose site is a 3-byte
// register move before the SYSCALL (tests/tests/rewrite.rs counts the
// traps).
package main

import (
	"fmt"
	"os"
)

func main() {
	f, err := os.Open("/dev/zero")
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(1)
	}
	b := make([]byte, 1)
	good := 0
	for i := 0; i < 2000; i++ {
		if n, err := f.Read(b); n == 1 && err == nil && b[0] == 0 {
			good++
		}
	}
	fmt.Println("reads that returned one zero byte:", good)
}
