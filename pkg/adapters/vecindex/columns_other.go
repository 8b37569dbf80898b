//go:build !amd64

package vecindex

// fusedColumns is false: addColumns4 exists only in assembly for amd64.
const fusedColumns = false

func addColumns4(*float32, int, *[4]*float32, *[4]float32) {
	panic("vecindex: addColumns4 without its assembly")
}
