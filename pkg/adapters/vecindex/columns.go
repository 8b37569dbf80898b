package vecindex

import "github.com/viterin/vek/vek32"

// addColumns adds to sc, for each j in nz, vector[j] times rows from..
// from+len(sc) of column j of a column block. tmp, as long as sc, is
// scratch for the columns the fused kernel does not take.
//
// The fused kernel (columns_amd64.s) reads four columns a step and keeps
// the scores in a register between them. The two vek calls it replaces,
// a product into tmp and a sum into sc, pass over both a column at a
// time: BenchmarkExactScanSparse (100,000 rows, two workers) took 2.9-3.4
// ms that way and 1.6-1.8 ms fused (ADR 0063).
func addColumns(sc, tmp, cols []float32, nz []int, vector []float32, from int) {
	n := len(sc)
	k := 0
	if whole := n &^ 7; fusedColumns && whole > 0 {
		var c [4]*float32
		var w [4]float32
		for ; k+4 <= len(nz); k += 4 {
			for t := range 4 {
				j := nz[k+t]
				col := cols[j*blockRows+from:][:n] // bounds-checked: the kernel reads whole of it
				c[t], w[t] = &col[0], vector[j]
			}
			addColumns4(&sc[0], whole, &c, &w)
			for t := range 4 { // the rows short of eight
				j := nz[k+t]
				for i, x := range cols[j*blockRows+from+whole : j*blockRows+from+n] {
					sc[whole+i] += vector[j] * x
				}
			}
		}
	}
	for _, j := range nz[k:] {
		vek32.MulNumber_Into(tmp, cols[j*blockRows+from:j*blockRows+from+n], vector[j])
		vek32.Add_Inplace(sc, tmp)
	}
}
