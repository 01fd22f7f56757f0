/*
 * rope.c — rotary position embeddings, normal (llama: pairs 2i, 2i+1) and NEOX (qwen2/3: pairs
 * i, i + n_rot/2), with linear scaling and Llama 3 per-pair frequency factors.
 *
 * Owns: the angles and the rotation, computed as ggml_rope_ext does without YaRN: the angle of
 * pair i is p * base^(-2i/n_rot), built by repeated float multiplication like ggml's cache (not
 * by powf per pair), divided by the pair's frequency factor, times freq_scale.
 * Never: allocates or keeps state; dimensions past n_rot are left as they are.
 */
#include <math.h>

#include "infer/infer_impl.h"

void rope_cache(float *cache, int64_t pos, uint32_t n_rot, float freq_base, float freq_scale,
		const float *freq_factors)
{
	const float theta_scale = powf(freq_base, -2.0f / (float)n_rot);
	float theta = (float)pos;
	uint32_t i;

	for (i = 0; i < n_rot; i += 2) {
		float ff = freq_factors ? freq_factors[i / 2] : 1.0f;
		float t = freq_scale * (theta / ff);

		cache[i] = cosf(t);
		cache[i + 1] = sinf(t);
		theta *= theta_scale;
	}
}

void rope_apply(float *x, uint32_t n_head, uint32_t head_dim, uint32_t n_rot, const float *cache,
		int neox)
{
	uint32_t h, i, half = n_rot / 2;

	for (h = 0; h < n_head; h++) {
		float *v = x + (size_t)h * head_dim;

		for (i = 0; i < n_rot; i += 2) {
			float c = cache[i], s = cache[i + 1];
			uint32_t a = neox ? i / 2 : i, b = neox ? i / 2 + half : i + 1;
			float x0 = v[a], x1 = v[b];

			v[a] = x0 * c - x1 * s;
			v[b] = x0 * s + x1 * c;
		}
	}
}
