// Command hog misbehaves on purpose, as a hostile file could make a parser
// behave, so the sandbox's tests can cross each limit: spin burns CPU,
// sleep outlives the wall clock, alloc grows its heap without end.
package main

import (
	"os"
	"time"
)

func main() {
	switch os.Args[1] {
	case "spin":
		for {
		}
	case "sleep":
		time.Sleep(time.Hour)
	case "alloc":
		var keep [][]byte
		for {
			b := make([]byte, 16<<20)
			for i := range b {
				b[i] = 1 // touch it, so it is really backed
			}
			keep = append(keep, b)
		}
	}
}
