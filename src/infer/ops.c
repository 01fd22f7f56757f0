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

/* ggml_silu(gate) then ggml_mul with up: gate = gate / (1 + e^-gate) * up. */
void ops_swiglu(float *gate, const float *up, int64_t n)
{
	int64_t i;

	for (i = 0; i < n; i++) {
		float g = gate[i];

		gate[i] = g / (1.0f + expf(-g)) * up[i];
	}
}

/* ggml_soft_max_ext without a mask (the caller passes only unmasked positions). */
void ops_softmax(float *x, int64_t n, float scale)
{
	float max = -INFINITY;
	double sum = 0.0;
	float inv;
	int64_t i;

	for (i = 0; i < n; i++) {
		x[i] *= scale;
		if (x[i] > max)
			max = x[i];
	}
	for (i = 0; i < n; i++) {
		float e = expf(x[i] - max);

		sum += (double)e;
		x[i] = e;
	}
	inv = (float)(1.0 / sum);
	for (i = 0; i < n; i++)
		x[i] *= inv;
}
