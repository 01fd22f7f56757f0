/*
 * kern_matmul.c — the matrix multiply: walks [r0, r1) x [0, m) in tiles of the chosen ISA's
 * kernels: for one activation row, the ISA's gemv where it has one for the type, else the weights
 * streamed once in tiles (kern_m1_rows); for a batch, blocks of
 * KERN_BLOCK_R weight rows (in L2) outermost, activation tiles next, weight tiles innermost.
 *
 * Owns: the traversal order only; the arithmetic of an element is its ISA's tile, the same for
 * every tile shape, so results do not depend on r0, r1 or m. Never: writes outside
 * out[i * ld_out + r] for r in [r0, r1), i in [0, m).
 */
#include "infer/kern_impl.h"
#include "infer/kernels.h"

/* Weight rows per tile against one activation row. One row is one linear stream, which the
 * hardware prefetcher follows at nearly full read bandwidth (Zen 4: Q8_0 13 -> 25 GB/s, F16 17
 * -> 25, Q4_K 10 -> 14). Q4_0, Q4_1 and Q5_0 are compute-bound there (~11 GB/s from RAM or
 * from L2): they keep KERN_TILE_R rows, sharing the activation side's work (-10 to -20% with
 * one row). Same bits either way: an element's arithmetic does not depend on the tile. */
static int kern_m1_rows(uint32_t wtype)
{
	switch (wtype) {
	case GGUF_GGML_Q4_0:
	case GGUF_GGML_Q4_1:
	case GGUF_GGML_Q5_0:
		return KERN_TILE_R;
	default:
		return 1;
	}
}
/* Rows of at most this many bytes (attention's K and V rows) go KERN_TILE_R to a tile at m = 1
 * too: the call, setup and final sum of a tile would otherwise cost as much as the row. */
#define KERN_SHORT_ROW 512

#ifndef KERN_BLOCK_R
#define KERN_BLOCK_R 64 /* 64 rows of 2048 F16 = 256 KiB */
#endif

void kern_mul_mat_isa(enum kern_isa isa, uint32_t wtype, const void *W, size_t w_row_bytes,
		      int64_t k, int64_t r0, int64_t r1, const void *X, size_t x_row_bytes,
		      int64_t m, float *out, int64_t ld_out)
{
	const struct kern_ops *o = kern_ops_get(wtype, isa);
	const char *w = W, *x = X;
	int64_t r, c, rb;

	if (o == NULL || r1 <= r0 || m <= 0)
		return;
	/* generation: with a gemv, all rows in one call, the activation side prepared once */
	if (m == 1 && o->gemv != NULL) {
		o->gemv(k, w + (size_t)r0 * w_row_bytes, w_row_bytes, x, out + r0, r1 - r0);
		return;
	}
	if (m == 1) { /* generation: stream the weights once */
		const int step =
		    kern_row_size(wtype, k) <= KERN_SHORT_ROW ? KERN_TILE_R : kern_m1_rows(wtype);

		for (r = r0; r < r1; r += step)
			o->tile(k, w + (size_t)r * w_row_bytes, w_row_bytes, x, x_row_bytes,
				out + r, ld_out, (int)(r1 - r < step ? r1 - r : step), 1);
		return;
	}
	/* A batch: a block of KERN_BLOCK_R weight rows stays in L2 while every activation tile
	 * passes over it, so the activations (m rows, up to MBs) come from L3 once per block
	 * instead of once per KERN_TILE_R rows. */
	for (rb = r0; rb < r1; rb += KERN_BLOCK_R) {
		const int64_t re = r1 - rb < KERN_BLOCK_R ? r1 : rb + KERN_BLOCK_R;

		for (c = 0; c < m; c += KERN_TILE_C) {
			const int nc = (int)(m - c < KERN_TILE_C ? m - c : KERN_TILE_C);

			for (r = rb; r < re; r += KERN_TILE_R) {
				const int nr = (int)(re - r < KERN_TILE_R ? re - r : KERN_TILE_R);

				o->tile(k, w + (size_t)r * w_row_bytes, w_row_bytes,
					x + (size_t)c * x_row_bytes, x_row_bytes,
					out + c * ld_out + r, ld_out, nr, nc);
			}
		}
	}
}

void kern_mul_mat(uint32_t wtype, const void *W, size_t w_row_bytes, int64_t k, int64_t r0,
		  int64_t r1, const void *X, size_t x_row_bytes, int64_t m, float *out,
		  int64_t ld_out)
{
	kern_mul_mat_isa(kern_active_isa(), wtype, W, w_row_bytes, k, r0, r1, X, x_row_bytes, m,
			 out, ld_out);
}
