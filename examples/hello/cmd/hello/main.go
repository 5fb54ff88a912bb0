// Command hello prints greetings.
package main

import (
	"fmt"
	"os"

	"example.com/hello/greet"
)

func main() {
	name := "world"
	if len(os.Args) > 1 {
		name = os.Args[1]
	}
	fmt.Print(greet.All(name))
}
