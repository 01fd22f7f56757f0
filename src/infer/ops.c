/*
 * ops.c — the forward pass's per-row operations: RMSNorm, residual add, SwiGLU, softmax.
 *
 * Owns: the arithmetic of each op, written in the order ggml's CPU backend evaluates it (sums of
 * squares and softmax sums in double, the norm scale applied before the weight) so results stay
 * within rounding of llama.cpp's.
 * Never: allocates, threads, or touches model or cache state; every function is a pure function
 * of its arguments.
 */
#include <math.h>

#include "infer/infer_impl.h"
#include "infer/kernels.h"

/* ggml_rms_norm then ggml_mul: y = (x * 1/sqrt(mean(x^2) + eps)) * w. y may alias x. */
void ops_rms_norm(float *y, const float *x, const float *w, int64_t n, float eps)
{
	double sum = 0.0;
	float mean, scale;
	int64_t i;

	for (i = 0; i < n; i++)
		sum += (double)(x[i] * x[i]);
	mean = (float)(sum / (double)n);
	scale = 1.0f / sqrtf(mean + eps);
	for (i = 0; i < n; i++) {
		float t = x[i] * scale;

		y[i] = w ? t * w[i] : t;
	}
}

void ops_add(float *y, const float *x, int64_t n)
{
	int64_t i;

	for (i = 0; i < n; i++)
		y[i] = y[i] + x[i];
}

/* ggml_vec_swiglu_f32: gate = gate / (1 + e^-gate) * up, e^x by ggml's vector expf for the
 * first n_vec elements (a row's elements below its length rounded down to 16) and by libm for
 * the rest, as ggml's scalar tail. */
void ops_swiglu(float *gate, const float *up, int64_t n, int64_t n_vec)
{
	int64_t i;

	n_vec = n_vec < 0 ? 0 : n_vec > n ? n : n_vec;
	kern_swiglu(gate, up, n_vec);
	for (i = n_vec; i < n; i++) {
		float g = gate[i];

		gate[i] = g / (1.0f + expf(-g)) * up[i];
	}
}

/* ggml_soft_max_ext over the positions a query sees (llama.cpp's -inf masked cells add 0):
 * scale, max, e^(x - max) summed as ggml_vec_soft_max_f32 does (kern_exp_sum), * (float)(1/sum). */
void ops_softmax(float *x, int64_t n, float scale)
{
	float max = -INFINITY;
	double sum;
	float inv;
	int64_t i;

	for (i = 0; i < n; i++) {
		x[i] *= scale;
		if (x[i] > max)
			max = x[i];
	}
	sum = kern_exp_sum(x, x, max, n);
	inv = (float)(1.0 / sum);
	for (i = 0; i < n; i++)
		x[i] *= inv;
}
