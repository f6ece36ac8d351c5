// Command helper is the process the exec kind's tests supervise. Its first
// argument picks what it does:
//
//	sleep DURATION   sleep, then exit 0
//	exit N           exit with status N at once
//	ignoreterm       ignore SIGTERM, print "ready", sleep an hour
//	fork N           start N children (helper sleep 1h) in its group, print
//	                 "child <pid>" for each, sleep an hour
//	flood BYTES      write BYTES of 100-byte lines to stdout, exit 0
//	env              print its environment, one variable a line, then "end",
//	                 sleep an hour
//	alloc MB         wait (up to 30s) until RLIMIT_AS is set when the second
//	                 argument is "limited", then allocate and touch MB MiB,
//	                 print "allocated", exit 0
//	spin             burn cpu until killed
//	hup FILE         print "ready", then at each SIGHUP print "FILE <content>"
//	                 of $NEXUS_SECRETS_DIR/FILE; sleep an hour
package main

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fail("usage: helper MODE [ARG]")
	}
	arg := ""
	if len(os.Args) > 2 {
		arg = os.Args[2]
	}
	switch os.Args[1] {
	case "sleep":
		d, err := time.ParseDuration(arg)
		if err != nil {
			fail(err.Error())
		}
		time.Sleep(d)
	case "exit":
		n, _ := strconv.Atoi(arg)
		os.Exit(n)
	case "ignoreterm":
		signal.Ignore(syscall.SIGTERM)
		fmt.Println("ready")
		time.Sleep(time.Hour)
	case "fork":
		forkChildren(arg)
	case "flood":
		flood(arg)
	case "env":
		fmt.Println(strings.Join(os.Environ(), "\n"))
		fmt.Println("end")
		time.Sleep(time.Hour)
	case "alloc":
		alloc(arg, len(os.Args) > 3 && os.Args[3] == "limited")
	case "hup":
		reloadOnHUP(arg)
	case "spin":
		for n := 0; ; n++ {
			_ = n * n
		}
	default:
		fail("unknown mode " + os.Args[1])
	}
}

func forkChildren(arg string) {
	n, _ := strconv.Atoi(arg)
	for range n {
		c := exec.Command(os.Args[0], "sleep", "1h")
		if err := c.Start(); err != nil {
			fail(err.Error())
		}
		fmt.Printf("child %d\n", c.Process.Pid)
	}
	time.Sleep(time.Hour)
}

func flood(arg string) {
	n, _ := strconv.Atoi(arg)
	line := []byte(strings.Repeat("x", 99) + "\n")
	for written := 0; written < n; written += len(line) {
		if _, err := os.Stdout.Write(line); err != nil {
			fail(err.Error())
		}
	}
}

func alloc(arg string, waitLimit bool) {
	mb, _ := strconv.Atoi(arg)
	for deadline := time.Now().Add(30 * time.Second); waitLimit; {
		var lim syscall.Rlimit
		if err := syscall.Getrlimit(syscall.RLIMIT_AS, &lim); err == nil && lim.Cur != ^uint64(0) {
			break
		}
		if time.Now().After(deadline) {
			fail("RLIMIT_AS was never set")
		}
		time.Sleep(5 * time.Millisecond)
	}
	buf := make([]byte, mb<<20)
	for i := 0; i < len(buf); i += 4096 {
		buf[i] = 1
	}
	fmt.Println("allocated")
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "helper:", msg)
	os.Exit(100)
}

func reloadOnHUP(file string) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	fmt.Println("ready")
	for range hup {
		b, err := os.ReadFile(os.Getenv("NEXUS_SECRETS_DIR") + "/" + file)
		if err != nil {
			fail(err.Error())
		}
		fmt.Printf("%s %s\n", file, b)
	}
}
