/*
 * gguf_arch.c — architecture checks: hyper-parameters, tensor shapes and vocabulary sizes.
 *
 * Owns: the rules for the architectures secai runs (llama, qwen2, qwen3): which <arch>.* keys
 * must be present with which types and relations, which tensors must exist with which shapes,
 * that no other tensor is present (llama.cpp refuses those too), and that the vocabulary size is
 * the same everywhere (token_embd, output, tokenizer.ggml.tokens/scores/token_type, token ids).
 * Never: trusts a hyper-parameter as a loop bound before bounding it by the tensor count, or
 * indexes anything with a value from the file.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gguf/gguf_impl.h"

#define ARCH_BIAS_REQUIRED 0x1u /* blk.N.attn_{q,k,v}.bias required (qwen2) */
#define ARCH_BIAS_OPTIONAL 0x2u /* q/k/v/o biases may be present (llama) */
#define ARCH_QK_NORM 0x4u	/* blk.N.attn_{q,k}_norm.weight required (qwen3) */
#define ARCH_MOE 0x8u		/* <arch>.expert_count > 0 selects *_exps tensors (llama) */

static const struct {
	const char *name;
	unsigned flags;
} gguf_archs[] = {
    {"llama", ARCH_BIAS_OPTIONAL | ARCH_MOE},
    {"qwen2", ARCH_BIAS_REQUIRED},
    {"qwen3", ARCH_QK_NORM},
};

struct arch_ctx {
	struct gguf_file *f;
	struct gguf_ctx *c;
	const char *arch;
	bool *used;
	bool bad; /* a hyper-parameter is unusable: skip shape checks */
};

/* Reads <arch>.<suffix> as a u32 > 0. Returns 1 found, 0 absent, -1 invalid (reported). */
static int hp_u32(struct arch_ctx *a, const char *suffix, bool required, uint32_t *out)
{
	char key[160];
	const struct gguf_kv *kv;

	snprintf(key, sizeof(key), "%s.%s", a->arch, suffix);
	kv = gguf_find_kv(a->f, key);
	if (kv == NULL) {
		if (required) {
			gguf_problem(a->c, GGUF_E_HPARAM_MISSING, 0, "missing %s", key);
			a->bad = true;
		}
		return 0;
	}
	if (gguf_kv_get_u32(kv, out) != 0) {
		gguf_problem(a->c, GGUF_E_HPARAM_TYPE, kv->key_off, "%s is a %s, not a u32", key,
			     gguf_value_type_name(kv->type));
		a->bad = true;
		return -1;
	}
	if (*out == 0) {
		gguf_problem(a->c, GGUF_E_HPARAM_VALUE, kv->key_off, "%s is 0", key);
		a->bad = true;
		return -1;
	}
	return 1;
}

/* Marks the tensor used and checks its shape (unused trailing dims given as 0). */
static void expect(struct arch_ctx *a, const char *name, bool required, uint64_t ne0, uint64_t ne1,
		   uint64_t ne2)
{
	const struct gguf_tensor_info *t = gguf_find_tensor(a->f, name);
	uint64_t want[3] = {ne0, ne1, ne2};
	uint32_t nd = ne2 ? 3 : ne1 ? 2 : 1, i;

	if (t == NULL) {
		if (required)
			gguf_problem(a->c, GGUF_E_TENSOR_MISSING, 0, "missing tensor %s", name);
		return;
	}
	a->used[t - a->f->tensors] = true;
	for (i = 0; i < nd; i++)
		if (t->ne[i] != want[i])
			break;
	if (t->n_dims != nd || i < nd)
		gguf_problem(a->c, GGUF_E_TENSOR_SHAPE, t->info_offset,
			     "tensor %s has shape [%llu, %llu, %llu, %llu] (%u dims), expected "
			     "[%llu, %llu, %llu] (%u dims)",
			     name, (unsigned long long)t->ne[0], (unsigned long long)t->ne[1],
			     (unsigned long long)t->ne[2], (unsigned long long)t->ne[3], t->n_dims,
			     (unsigned long long)ne0, (unsigned long long)ne1,
			     (unsigned long long)ne2, nd);
}

static void expect_blk(struct arch_ctx *a, uint32_t l, const char *what, bool required,
		       uint64_t ne0, uint64_t ne1, uint64_t ne2)
{
	char name[GGUF_NAME_MAX + 32];

	snprintf(name, sizeof(name), "blk.%u.%s", l, what);
	expect(a, name, required, ne0, ne1, ne2);
}

/* Token-id keys must index the vocabulary (or be -1 = none). */
static void check_token_ids(struct gguf_file *f, struct gguf_ctx *c, uint64_t n_vocab)
{
	static const char prefix[] = "tokenizer.ggml.", suffix[] = "_token_id";
	size_t i, pl = sizeof(prefix) - 1, sl = sizeof(suffix) - 1;

	for (i = 0; i < f->n_kv; i++) {
		const struct gguf_kv *kv = &f->kvs[i];
		uint32_t v;

		if (kv->key_len < pl + sl || memcmp(kv->key, prefix, pl) != 0 ||
		    memcmp(kv->key + kv->key_len - sl, suffix, sl) != 0)
			continue;
		if (kv->type != GGUF_TYPE_UINT32 && kv->type != GGUF_TYPE_INT32) {
			gguf_problem(c, GGUF_E_TOKENIZER_TYPE, kv->key_off,
				     "%.*s is a %s, not a u32", (int)kv->key_len, kv->key,
				     gguf_value_type_name(kv->type));
			continue;
		}
		v = gguf_le32(kv->val);
		if (v != UINT32_MAX && v >= n_vocab)
			gguf_problem(c, GGUF_E_VOCAB, kv->key_off,
				     "%.*s = %u is outside the vocabulary of %llu tokens",
				     (int)kv->key_len, kv->key, v, (unsigned long long)n_vocab);
	}
}

/* tokenizer.ggml.* arrays: types and equal lengths. Returns the token count (0 if none). */
static uint64_t check_tokenizer(struct gguf_file *f, struct gguf_ctx *c)
{
	static const struct {
		const char *key;
		uint32_t elem;
		bool per_token;
	} arrays[] = {
	    {"tokenizer.ggml.tokens", GGUF_TYPE_STRING, true},
	    {"tokenizer.ggml.scores", GGUF_TYPE_FLOAT32, true},
	    {"tokenizer.ggml.token_type", GGUF_TYPE_INT32, true},
	    {"tokenizer.ggml.merges", GGUF_TYPE_STRING, false},
	};
	uint64_t n_tokens = 0, cnt;
	enum gguf_value_type et;
	size_t i;

	for (i = 0; i < sizeof(arrays) / sizeof(arrays[0]); i++) {
		const struct gguf_kv *kv = gguf_find_kv(f, arrays[i].key);

		if (kv == NULL)
			continue;
		if (gguf_kv_array_info(kv, &et, &cnt) != 0 || et != arrays[i].elem) {
			gguf_problem(c, GGUF_E_TOKENIZER_TYPE, kv->key_off,
				     "%s must be an array of %s", arrays[i].key,
				     gguf_value_type_name(arrays[i].elem));
			continue;
		}
		if (i == 0) {
			n_tokens = cnt;
			if (cnt == 0)
				gguf_problem(c, GGUF_E_VOCAB, kv->key_off,
					     "tokenizer.ggml.tokens is empty");
		} else if (arrays[i].per_token && cnt != n_tokens) {
			gguf_problem(c, GGUF_E_VOCAB, kv->key_off,
				     "%s has %llu entries, tokenizer.ggml.tokens has %llu",
				     arrays[i].key, (unsigned long long)cnt,
				     (unsigned long long)n_tokens);
		}
	}
	if (n_tokens)
		check_token_ids(f, c, n_tokens);
	return n_tokens;
}

static void check_known_arch(struct arch_ctx *a, unsigned flags, uint64_t n_tokens)
{
	struct gguf_file *f = a->f;
	struct gguf_ctx *c = a->c;
	uint32_t n_embd = 0, n_layer = 0, n_ff = 0, n_head = 0, n_head_kv = 0, n_ctx = 0;
	uint32_t hd_k = 0, hd_v = 0, n_rot = 0, n_expert = 0, n_expert_used = 0, v32;
	const struct gguf_tensor_info *te;
	const struct gguf_kv *kv;
	uint64_t n_vocab, l;
	char key[160];
	float eps;
	bool moe;

	hp_u32(a, "embedding_length", true, &n_embd);
	hp_u32(a, "block_count", true, &n_layer);
	hp_u32(a, "feed_forward_length", true, &n_ff);
	hp_u32(a, "context_length", true, &n_ctx);
	hp_u32(a, "attention.head_count", true, &n_head);
	hp_u32(a, "attention.head_count_kv", true, &n_head_kv);
	snprintf(key, sizeof(key), "%s.attention.layer_norm_rms_epsilon", a->arch);
	kv = gguf_find_kv(f, key);
	if (kv == NULL) {
		gguf_problem(c, GGUF_E_HPARAM_MISSING, 0, "missing %s", key);
	} else if (gguf_kv_get_f32(kv, &eps) != 0) {
		gguf_problem(c, GGUF_E_HPARAM_TYPE, kv->key_off, "%s is a %s, not an f32", key,
			     gguf_value_type_name(kv->type));
	} else if (!isfinite(eps) || eps <= 0.0f || eps >= 1.0f) {
		gguf_problem(c, GGUF_E_HPARAM_VALUE, kv->key_off, "%s = %g is not in (0, 1)", key,
			     (double)eps);
	}
	if (a->bad)
		return;
	if (n_head_kv > n_head || n_head % n_head_kv != 0) {
		gguf_problem(c, GGUF_E_HPARAM_VALUE, 0,
			     "%s.attention.head_count_kv %u does not divide head_count %u", a->arch,
			     n_head_kv, n_head);
		a->bad = true;
	}
	if (hp_u32(a, "attention.key_length", false, &hd_k) == 0) {
		if (n_embd % n_head != 0) {
			gguf_problem(
			    c, GGUF_E_HPARAM_VALUE, 0,
			    "%s.attention.head_count %u does not divide embedding_length %u",
			    a->arch, n_head, n_embd);
			a->bad = true;
		}
		hd_k = n_embd / n_head;
	}
	if (hp_u32(a, "attention.value_length", false, &hd_v) == 0)
		hd_v = hd_k;
	if (hp_u32(a, "rope.dimension_count", false, &n_rot) == 0)
		n_rot = hd_k;
	else if (n_rot > hd_k || n_rot % 2 != 0) {
		gguf_problem(c, GGUF_E_HPARAM_VALUE, 0,
			     "%s.rope.dimension_count %u is odd or exceeds the head size %u",
			     a->arch, n_rot, hd_k);
		a->bad = true;
	}
	moe = (flags & ARCH_MOE) && hp_u32(a, "expert_count", false, &n_expert) == 1;
	if (moe) {
		if (hp_u32(a, "expert_used_count", true, &n_expert_used) == 1 &&
		    n_expert_used > n_expert) {
			gguf_problem(c, GGUF_E_HPARAM_VALUE, 0,
				     "%s.expert_used_count %u exceeds expert_count %u", a->arch,
				     n_expert_used, n_expert);
			a->bad = true;
		}
	}
	/* Every layer has several tensors: a block_count above the tensor count is a lie. */
	if (n_layer > f->n_tensors) {
		gguf_problem(c, GGUF_E_HPARAM_VALUE, 0,
			     "%s.block_count %u exceeds the %zu tensors in the file", a->arch,
			     n_layer, f->n_tensors);
		a->bad = true;
	}
	if (a->bad)
		return;

	te = gguf_find_tensor(f, "token_embd.weight");
	n_vocab = te && te->n_dims == 2 ? te->ne[1] : n_tokens;
	if (n_tokens == 0)
		gguf_problem(c, GGUF_E_VOCAB, 0, "tokenizer.ggml.tokens is missing");
	else if (n_vocab != n_tokens)
		gguf_problem(c, GGUF_E_VOCAB, te ? te->info_offset : 0,
			     "token_embd.weight has %llu rows, tokenizer.ggml.tokens has %llu",
			     (unsigned long long)n_vocab, (unsigned long long)n_tokens);
	snprintf(key, sizeof(key), "%s.vocab_size", a->arch);
	kv = gguf_find_kv(f, key);
	if (kv != NULL && (gguf_kv_get_u32(kv, &v32) != 0 || v32 != n_vocab))
		gguf_problem(c, GGUF_E_VOCAB, kv->key_off,
			     "%s does not equal the %llu rows of token_embd.weight", key,
			     (unsigned long long)n_vocab);

	expect(a, "token_embd.weight", true, n_embd, n_vocab, 0);
	expect(a, "output_norm.weight", true, n_embd, 0, 0);
	expect(a, "output.weight", false, n_embd, n_vocab, 0); /* absent: tied to token_embd */
	expect(a, "rope_freqs.weight", false, n_rot / 2, 0, 0);
	for (l = 0; l < n_layer; l++) {
		uint32_t L = (uint32_t)l;
		uint64_t q = (uint64_t)n_head * hd_k, k = (uint64_t)n_head_kv * hd_k;
		uint64_t v = (uint64_t)n_head_kv * hd_v, o = (uint64_t)n_head * hd_v;
		bool breq = flags & ARCH_BIAS_REQUIRED;
		bool bany = flags & (ARCH_BIAS_REQUIRED | ARCH_BIAS_OPTIONAL);

		expect_blk(a, L, "attn_norm.weight", true, n_embd, 0, 0);
		expect_blk(a, L, "attn_q.weight", true, n_embd, q, 0);
		expect_blk(a, L, "attn_k.weight", true, n_embd, k, 0);
		expect_blk(a, L, "attn_v.weight", true, n_embd, v, 0);
		expect_blk(a, L, "attn_output.weight", true, o, n_embd, 0);
		if (bany) {
			expect_blk(a, L, "attn_q.bias", breq, q, 0, 0);
			expect_blk(a, L, "attn_k.bias", breq, k, 0, 0);
			expect_blk(a, L, "attn_v.bias", breq, v, 0, 0);
		}
		if (flags & ARCH_BIAS_OPTIONAL)
			expect_blk(a, L, "attn_output.bias", false, n_embd, 0, 0);
		if (flags & ARCH_QK_NORM) {
			expect_blk(a, L, "attn_q_norm.weight", true, hd_k, 0, 0);
			expect_blk(a, L, "attn_k_norm.weight", true, hd_k, 0, 0);
		}
		expect_blk(a, L, "ffn_norm.weight", true, n_embd, 0, 0);
		if (moe) {
			expect_blk(a, L, "ffn_gate_inp.weight", true, n_embd, n_expert, 0);
			expect_blk(a, L, "ffn_gate_exps.weight", true, n_embd, n_ff, n_expert);
			expect_blk(a, L, "ffn_up_exps.weight", true, n_embd, n_ff, n_expert);
			expect_blk(a, L, "ffn_down_exps.weight", true, n_ff, n_embd, n_expert);
		} else {
			expect_blk(a, L, "ffn_gate.weight", true, n_embd, n_ff, 0);
			expect_blk(a, L, "ffn_up.weight", true, n_embd, n_ff, 0);
			expect_blk(a, L, "ffn_down.weight", true, n_ff, n_embd, 0);
		}
	}
	for (l = 0; l < f->n_tensors; l++)
		if (!a->used[l])
			gguf_problem(c, GGUF_E_TENSOR_UNEXPECTED, f->tensors[l].info_offset,
				     "tensor %s is not part of a %s model", f->tensors[l].name,
				     a->arch);
}

void gguf_check_arch(struct gguf_file *f, struct gguf_ctx *c)
{
	const struct gguf_kv *kv = gguf_find_kv(f, "general.architecture");
	struct arch_ctx a = {f, c, NULL, NULL, false};
	char arch[65];
	const char *s;
	uint64_t n_tokens;
	size_t len, i;

	n_tokens = check_tokenizer(f, c);
	if (kv == NULL || gguf_kv_get_str(kv, &s, &len) != 0) {
		gguf_problem(c, GGUF_E_ARCH_MISSING, kv ? kv->key_off : 0,
			     "general.architecture is %s", kv ? "not a string" : "missing");
		return;
	}
	if (len > 0 && len < sizeof(arch)) {
		memcpy(arch, s, len);
		arch[len] = '\0';
	}
	if (len == 0 || len >= sizeof(arch) ||
	    strspn(arch, "abcdefghijklmnopqrstuvwxyz0123456789_-") < len) {
		gguf_problem(c, GGUF_E_ARCH_NAME, kv->key_off,
			     "general.architecture is not [a-z0-9_-]{1,64}");
		return;
	}
	for (i = 0; i < sizeof(gguf_archs) / sizeof(gguf_archs[0]); i++)
		if (strcmp(arch, gguf_archs[i].name) == 0)
			break;
	if (i == sizeof(gguf_archs) / sizeof(gguf_archs[0]))
		return; /* unknown architecture: structure only (docs/gguf-validation.md) */
	a.arch = arch;
	a.used = calloc(f->n_tensors ? f->n_tensors : 1, sizeof(*a.used));
	if (a.used == NULL) {
		c->nomem = true;
		return;
	}
	check_known_arch(&a, gguf_archs[i].flags, n_tokens);
	free(a.used);
}
