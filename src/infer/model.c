/*
 * model.c — loading a model: the strict GGUF reader, then hyper-parameters and weights for the
 * llama, qwen2 and qwen3 architectures, as llama.cpp's loader reads them.
 *
 * Owns: struct infer_model: pointers to each weight matrix inside the read-only map, F32 copies
 * of the small 1-D tensors (norm weights, biases, rope frequency factors), the hyper-parameters.
 * Never: writes to the file or the map, loads from a file the reader found invalid, accepts a
 * tensor type the kernels cannot multiply, or guesses a hyper-parameter llama.cpp would refuse
 * (MoE, YaRN/LongRoPE scaling, value heads of another size are refused by name).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf/gguf.h"
#include "infer/infer_impl.h"
#include "infer/kernels.h"

static const uint32_t infer_wtypes[] = {
    GGUF_GGML_F32,  GGUF_GGML_F16,  GGUF_GGML_BF16, GGUF_GGML_Q8_0, GGUF_GGML_Q4_0,
    GGUF_GGML_Q4_1, GGUF_GGML_Q5_0, GGUF_GGML_Q4_K, GGUF_GGML_Q5_K, GGUF_GGML_Q6_K,
};

struct loader {
	struct infer_model *m;
	char arch[32];
	char *err;
	size_t errlen;
};

static int type_ok(uint32_t t)
{
	size_t i;

	for (i = 0; i < sizeof(infer_wtypes) / sizeof(infer_wtypes[0]); i++)
		if (infer_wtypes[i] == t)
			return kern_type_supported(t);
	return 0;
}

static const struct gguf_kv *hp_kv(struct loader *ld, const char *suffix)
{
	char key[128];

	snprintf(key, sizeof(key), "%s.%s", ld->arch, suffix);
	return gguf_find_kv(ld->m->f, key);
}

/* <arch>.<suffix> as an unsigned integer: 1 found, 0 absent (*out = def), -1 error. */
static int hp_u32(struct loader *ld, const char *suffix, int required, uint32_t def, uint32_t *out)
{
	const struct gguf_kv *kv = hp_kv(ld, suffix);
	uint64_t v;

	*out = def;
	if (kv == NULL) {
		if (!required)
			return 0;
		snprintf(ld->err, ld->errlen, "missing %s.%s", ld->arch, suffix);
		return -1;
	}
	if (gguf_kv_get_uint(kv, &v) != 0 || v == 0 || v > UINT32_MAX) {
		snprintf(ld->err, ld->errlen, "%s.%s is not a positive 32-bit integer", ld->arch,
			 suffix);
		return -1;
	}
	*out = (uint32_t)v;
	return 1;
}

static int hp_f32(struct loader *ld, const char *suffix, float def, float *out)
{
	const struct gguf_kv *kv = hp_kv(ld, suffix);

	*out = def;
	if (kv == NULL)
		return 0;
	if (gguf_kv_get_f32(kv, out) != 0) {
		snprintf(ld->err, ld->errlen, "%s.%s is not an f32", ld->arch, suffix);
		return -1;
	}
	return 1;
}

/* A weight matrix [ne0, ne1]; absent and !required: t->data = NULL, returns 0. */
static int tensor2d(struct loader *ld, const char *name, int required, int64_t ne0, int64_t ne1,
		    struct infer_tensor *t)
{
	const struct gguf_tensor_info *ti = gguf_find_tensor(ld->m->f, name);

	memset(t, 0, sizeof(*t));
	if (ti == NULL) {
		if (!required)
			return 0;
		snprintf(ld->err, ld->errlen, "missing tensor %s", name);
		return -1;
	}
	if (!type_ok(ti->type)) {
		snprintf(ld->err, ld->errlen,
			 "tensor %s has type %s, which is not supported (supported: F32, F16, "
			 "BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q4_K, Q5_K, Q6_K)",
			 name, gguf_type_info(ti->type)->name);
		return -1;
	}
	if (ti->n_dims != 2 || (int64_t)ti->ne[0] != ne0 || (int64_t)ti->ne[1] != ne1) {
		snprintf(ld->err, ld->errlen,
			 "tensor %s has shape [%llu, %llu], expected [%lld, %lld]", name,
			 (unsigned long long)ti->ne[0], (unsigned long long)ti->ne[1],
			 (long long)ne0, (long long)ne1);
		return -1;
	}
	t->data = ti->data;
	t->type = ti->type;
	t->ne0 = ne0;
	t->ne1 = ne1;
	t->row_bytes = kern_row_size(ti->type, ne0);
	if (t->data == NULL || t->row_bytes * (uint64_t)ne1 != ti->nbytes) {
		snprintf(ld->err, ld->errlen, "tensor %s: inconsistent size", name);
		return -1;
	}
	return 0;
}

/* A 1-D tensor of n values, copied to owned F32 memory (norm weights, biases). */
static int tensor1d(struct loader *ld, const char *name, int required, int64_t n, const float **out)
{
	const struct gguf_tensor_info *ti = gguf_find_tensor(ld->m->f, name);
	struct infer_model *m = ld->m;
	float *v, **owned;

	*out = NULL;
	if (ti == NULL) {
		if (!required)
			return 0;
		snprintf(ld->err, ld->errlen, "missing tensor %s", name);
		return -1;
	}
	if (ti->type != GGUF_GGML_F32 && ti->type != GGUF_GGML_F16 && ti->type != GGUF_GGML_BF16) {
		snprintf(ld->err, ld->errlen,
			 "tensor %s has type %s; 1-D tensors must be F32, F16 or BF16", name,
			 gguf_type_info(ti->type)->name);
		return -1;
	}
	if (ti->n_dims != 1 || (int64_t)ti->ne[0] != n || ti->data == NULL) {
		snprintf(ld->err, ld->errlen, "tensor %s has %llu elements, expected %lld", name,
			 (unsigned long long)ti->n_elements, (long long)n);
		return -1;
	}
	v = malloc((size_t)n * sizeof(float));
	owned = realloc(m->owned, (m->n_owned + 1) * sizeof(*owned));
	if (v == NULL || owned == NULL) {
		free(v);
		if (owned != NULL)
			m->owned = owned;
		snprintf(ld->err, ld->errlen, "out of memory");
		return -1;
	}
	m->owned = owned;
	m->owned[m->n_owned++] = v;
	if (ti->type == GGUF_GGML_F32)
		memcpy(v, ti->data, (size_t)n * sizeof(float)); /* the map may be unaligned */
	else
		kern_dequantize_row(ti->type, ti->data, v, n);
	*out = v;
	return 0;
}

static int load_hparams(struct loader *ld)
{
	struct infer_hparams *hp = &ld->m->hp;
	const struct gguf_kv *kv;
	uint32_t hd_k, hd_v, n_exp;
	float factor = 0.0f;
	const char *s;
	size_t len;

	if (hp_u32(ld, "context_length", 1, 0, &hp->n_ctx_train) < 0 ||
	    hp_u32(ld, "embedding_length", 1, 0, &hp->n_embd) < 0 ||
	    hp_u32(ld, "block_count", 1, 0, &hp->n_layer) < 0 ||
	    hp_u32(ld, "feed_forward_length", 1, 0, &hp->n_ff) < 0 ||
	    hp_u32(ld, "attention.head_count", 1, 0, &hp->n_head) < 0 ||
	    hp_u32(ld, "attention.head_count_kv", 0, hp->n_head, &hp->n_head_kv) < 0 ||
	    hp_u32(ld, "attention.key_length", 0, hp->n_embd / hp->n_head, &hd_k) < 0 ||
	    hp_u32(ld, "attention.value_length", 0, hd_k, &hd_v) < 0 ||
	    hp_u32(ld, "rope.dimension_count", 0, hd_k, &hp->n_rot) < 0 ||
	    hp_u32(ld, "expert_count", 0, 0, &n_exp) < 0)
		return -1;
	if (hp_f32(ld, "attention.layer_norm_rms_epsilon", 1e-5f, &hp->rms_eps) < 0 ||
	    hp_f32(ld, "rope.freq_base", 10000.0f, &hp->rope_freq_base) < 0)
		return -1;
	if (n_exp > 0) {
		snprintf(ld->err, ld->errlen,
			 "mixture-of-experts models (%s.expert_count = %u) are not supported",
			 ld->arch, n_exp);
		return -1;
	}
	if (hd_k == 0 || hd_v != hd_k) {
		snprintf(ld->err, ld->errlen,
			 "key and value head sizes differ (%u, %u): not supported", hd_k, hd_v);
		return -1;
	}
	if (hp->n_head % hp->n_head_kv != 0 || hp->n_rot > hd_k || hp->n_rot % 2 != 0) {
		snprintf(ld->err, ld->errlen, "inconsistent attention hyper-parameters");
		return -1;
	}
	hp->head_dim = hd_k;
	kv = hp_kv(ld, "rope.scaling.type");
	if (kv != NULL) {
		if (gguf_kv_get_str(kv, &s, &len) != 0) {
			snprintf(ld->err, ld->errlen, "%s.rope.scaling.type is not a string",
				 ld->arch);
			return -1;
		}
		if (!(len == 4 && memcmp(s, "none", 4) == 0) &&
		    !(len == 6 && memcmp(s, "linear", 6) == 0)) {
			snprintf(ld->err, ld->errlen,
				 "rope scaling type \"%.*s\" is not supported (none, linear)",
				 (int)(len < 32 ? len : 32), s);
			return -1;
		}
	}
	/* As llama.cpp: the factor applies whatever the type says; the old key is a fallback. */
	if (hp_f32(ld, "rope.scaling.factor", 0.0f, &factor) < 0)
		return -1;
	if (factor == 0.0f && hp_f32(ld, "rope.scale_linear", 0.0f, &factor) < 0)
		return -1;
	if (!(factor >= 0.0f) || !(hp->rope_freq_base > 0.0f)) {
		snprintf(ld->err, ld->errlen, "bad rope parameters");
		return -1;
	}
	hp->rope_freq_scale = factor == 0.0f ? 1.0f : 1.0f / factor;
	hp->rope_neox = strcmp(ld->arch, "llama") != 0;
	return 0;
}

static int load_layer(struct loader *ld, uint32_t l)
{
	struct infer_model *m = ld->m;
	const struct infer_hparams *hp = &m->hp;
	struct infer_layer *L = &m->layers[l];
	int64_t E = hp->n_embd, Q = (int64_t)hp->n_head * hp->head_dim;
	int64_t K = (int64_t)hp->n_head_kv * hp->head_dim, F = hp->n_ff;
	int qwen3 = strcmp(ld->arch, "qwen3") == 0, qwen2 = strcmp(ld->arch, "qwen2") == 0;
	char n[GGUF_NAME_MAX + 32];

#define NAME(what) (snprintf(n, sizeof(n), "blk.%u." what, l), n)
	if (tensor1d(ld, NAME("attn_norm.weight"), 1, E, &L->attn_norm) < 0 ||
	    tensor2d(ld, NAME("attn_q.weight"), 1, E, Q, &L->wq) < 0 ||
	    tensor2d(ld, NAME("attn_k.weight"), 1, E, K, &L->wk) < 0 ||
	    tensor2d(ld, NAME("attn_v.weight"), 1, E, K, &L->wv) < 0 ||
	    tensor2d(ld, NAME("attn_output.weight"), 1, Q, E, &L->wo) < 0 ||
	    tensor1d(ld, NAME("attn_q.bias"), qwen2, Q, &L->bq) < 0 ||
	    tensor1d(ld, NAME("attn_k.bias"), qwen2, K, &L->bk) < 0 ||
	    tensor1d(ld, NAME("attn_v.bias"), qwen2, K, &L->bv) < 0 ||
	    tensor1d(ld, NAME("attn_output.bias"), 0, E, &L->bo) < 0 ||
	    tensor1d(ld, NAME("attn_q_norm.weight"), qwen3, hp->head_dim, &L->q_norm) < 0 ||
	    tensor1d(ld, NAME("attn_k_norm.weight"), qwen3, hp->head_dim, &L->k_norm) < 0 ||
	    tensor1d(ld, NAME("ffn_norm.weight"), 1, E, &L->ffn_norm) < 0 ||
	    tensor2d(ld, NAME("ffn_gate.weight"), 1, E, F, &L->ffn_gate) < 0 ||
	    tensor2d(ld, NAME("ffn_up.weight"), 1, E, F, &L->ffn_up) < 0 ||
	    tensor2d(ld, NAME("ffn_down.weight"), 1, F, E, &L->ffn_down) < 0)
		return -1;
#undef NAME
	return 0;
}

static int load(struct loader *ld)
{
	struct infer_model *m = ld->m;
	struct infer_hparams *hp = &m->hp;
	const struct gguf_tensor_info *te;
	const char *a;
	size_t alen, i;
	uint32_t l;

	a = gguf_architecture(m->f, &alen);
	if (a == NULL || alen >= sizeof(ld->arch)) {
		snprintf(ld->err, ld->errlen, "general.architecture is missing");
		return -1;
	}
	memcpy(ld->arch, a, alen);
	ld->arch[alen] = '\0';
	if (strcmp(ld->arch, "llama") != 0 && strcmp(ld->arch, "qwen2") != 0 &&
	    strcmp(ld->arch, "qwen3") != 0) {
		snprintf(ld->err, ld->errlen,
			 "architecture \"%s\" is not supported (llama, qwen2, qwen3)", ld->arch);
		return -1;
	}
	snprintf(hp->arch, sizeof(hp->arch), "%s", ld->arch);
	if (load_hparams(ld) < 0)
		return -1;
	te = gguf_find_tensor(m->f, "token_embd.weight");
	if (te == NULL || te->n_dims != 2 || te->ne[1] == 0 || te->ne[1] > INT32_MAX) {
		snprintf(ld->err, ld->errlen, "missing or malformed tensor token_embd.weight");
		return -1;
	}
	hp->n_vocab = (uint32_t)te->ne[1];
	if (tensor2d(ld, "token_embd.weight", 1, hp->n_embd, hp->n_vocab, &m->tok_embd) < 0 ||
	    tensor2d(ld, "output.weight", 0, hp->n_embd, hp->n_vocab, &m->output) < 0 ||
	    tensor1d(ld, "output_norm.weight", 1, hp->n_embd, &m->output_norm) < 0 ||
	    tensor1d(ld, "rope_freqs.weight", 0, hp->n_rot / 2, &m->rope_freqs) < 0)
		return -1;
	hp->tied_output = m->output.data == NULL;
	if (hp->tied_output)
		m->output = m->tok_embd;
	m->layers = calloc(hp->n_layer, sizeof(*m->layers));
	if (m->layers == NULL) {
		snprintf(ld->err, ld->errlen, "out of memory");
		return -1;
	}
	for (l = 0; l < hp->n_layer; l++)
		if (load_layer(ld, l) < 0)
			return -1;
	for (i = 0; i < gguf_n_tensors(m->f); i++) {
		const struct gguf_tensor_info *ti = gguf_tensor_at(m->f, i);

		hp->n_params += ti->n_elements;
		hp->weight_bytes += ti->nbytes;
	}
	return 0;
}

int infer_model_load(const char *path, struct infer_model **out, char *err, size_t errlen)
{
	struct gguf_report rep = GGUF_REPORT_INIT;
	struct infer_model *m;
	struct loader ld;
	int rc;

	*out = NULL;
	m = calloc(1, sizeof(*m));
	if (m == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	/* weights are read once per token: 2 MiB pages where the kernel gives them (+3% at two
	 * threads on a 0.8B Q4_0 model whose page cache was filled through this mapping) */
	rc = gguf_open_ex(path, GGUF_OPEN_HUGEPAGES, &m->f, &rep);
	if (rc != 0) {
		if (rc < 0 || rep.n == 0)
			snprintf(err, errlen, "%s: %s", path,
				 rc < 0 ? strerror(errno) : "invalid GGUF file");
		else
			snprintf(err, errlen, "%s: %s (%s)", path, rep.items[0].msg,
				 gguf_err_id(rep.items[0].code));
		gguf_report_free(&rep);
		free(m);
		return -1;
	}
	gguf_report_free(&rep);
	memset(&ld, 0, sizeof(ld));
	ld.m = m;
	ld.err = err;
	ld.errlen = errlen;
	if (load(&ld) < 0) {
		char why[256];

		snprintf(why, sizeof(why), "%s", err);
		snprintf(err, errlen, "%s: %s", path, why);
		infer_model_free(m);
		return -1;
	}
	*out = m;
	return 0;
}

void infer_model_free(struct infer_model *m)
{
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->n_owned; i++)
		free(m->owned[i]);
	free(m->owned);
	free(m->layers);
	gguf_close(m->f);
	free(m);
}

const struct infer_hparams *infer_model_hparams(const struct infer_model *m)
{
	return &m->hp;
}

const struct gguf_file *infer_model_gguf(const struct infer_model *m)
{
	return m->f;
}
