package node

import "runtime"

func numCPU() int { return runtime.NumCPU() }
