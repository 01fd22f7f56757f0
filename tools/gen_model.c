/*
 * gen_model.c — `gen_model [OPTIONS] OUT.gguf`: writes a random-weight llama / qwen2 / qwen3
 * GGUF model with a built-in SentencePiece vocabulary (tests, benches, the demo model).
 *
 * Owns: the command line only; the generator is src/infer/modelgen.c, compiled into this tool
 * because tools link libsecai.a alone (securectl and the tests link it as part of the engine).
 * Never: writes anything but OUT, or leaves OUT in place when it fails the GGUF reader.
 * Exit: 0 written, 1 error, 64 usage.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "infer/modelgen.c" /* NOLINT: the generator, see above */

static void usage(FILE *fp)
{
	fprintf(fp,
		"usage: gen_model [--preset demo|bench-llama-0.8b] [OPTIONS] OUT.gguf\n"
		"Writes a random-weight GGUF model (deterministic for a seed).\n"
		"  --preset NAME     start from a preset (default: a small llama model)\n"
		"  --arch A          llama, qwen2 or qwen3\n"
		"  --embd N --layers N --heads N --kv-heads N --head-dim N --ff N\n"
		"  --vocab N         vocabulary size (>= 300; SPM with byte fallback, ChatML)\n"
		"  --ctx N           context_length\n"
		"  --type T          2-D weights: F32 F16 BF16 Q8_0 Q4_0 Q4_1 Q5_0 Q4_K Q5_K Q6_K\n"
		"  --mix | --pure    llama-quantize's default recipe for T (output Q6_K, ...) or\n"
		"                    every 2-D weight in T (default: pure, presets: mix)\n"
		"  --tied | --untied output tied to token_embd (default: qwen tied, llama not)\n"
		"  --seed N          (default 1)\n"
		"  --name S          general.name\n"
		"  --stats           print file_bytes, weight_bytes_per_token (all tensors but\n"
		"                    token_embd, what a token reads) and n_params on stdout\n"
		"Norms and biases are always F32.\n");
}

static int print_stats(const char *path)
{
	struct gguf_file *f = NULL;
	uint64_t per_token = 0, params = 0;
	size_t i;

	if (gguf_open(path, &f, NULL) != 0) {
		fprintf(stderr, "gen_model: cannot reopen %s\n", path);
		return 1;
	}
	for (i = 0; i < gguf_n_tensors(f); i++) {
		const struct gguf_tensor_info *t = gguf_tensor_at(f, i);

		params += t->n_elements;
		if (strcmp(t->name, "token_embd.weight") != 0)
			per_token += t->nbytes;
	}
	printf("file_bytes=%llu weight_bytes_per_token=%llu n_params=%llu\n",
	       (unsigned long long)gguf_file_size(f), (unsigned long long)per_token,
	       (unsigned long long)params);
	gguf_close(f);
	return 0;
}

static int parse_u32(const char *s, uint32_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v > UINT32_MAX || s[0] == '-')
		return -1;
	*out = (uint32_t)v;
	return 0;
}

int main(int argc, char **argv)
{
	enum {
		O_PRESET = 256,
		O_ARCH,
		O_EMBD,
		O_LAYERS,
		O_HEADS,
		O_KV,
		O_HD,
		O_FF,
		O_VOCAB,
		O_CTX,
		O_TYPE,
		O_MIX,
		O_PURE,
		O_TIED,
		O_UNTIED,
		O_SEED,
		O_NAME,
		O_STATS
	};
	static const struct option opts[] = {
	    {"preset", required_argument, NULL, O_PRESET},
	    {"arch", required_argument, NULL, O_ARCH},
	    {"embd", required_argument, NULL, O_EMBD},
	    {"layers", required_argument, NULL, O_LAYERS},
	    {"heads", required_argument, NULL, O_HEADS},
	    {"kv-heads", required_argument, NULL, O_KV},
	    {"head-dim", required_argument, NULL, O_HD},
	    {"ff", required_argument, NULL, O_FF},
	    {"vocab", required_argument, NULL, O_VOCAB},
	    {"ctx", required_argument, NULL, O_CTX},
	    {"type", required_argument, NULL, O_TYPE},
	    {"mix", no_argument, NULL, O_MIX},
	    {"pure", no_argument, NULL, O_PURE},
	    {"tied", no_argument, NULL, O_TIED},
	    {"untied", no_argument, NULL, O_UNTIED},
	    {"seed", required_argument, NULL, O_SEED},
	    {"name", required_argument, NULL, O_NAME},
	    {"stats", no_argument, NULL, O_STATS},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct modelgen_params p;
	char err[512];
	uint32_t v32;
	int c, i, bad = 0, stats = 0;

	modelgen_params_default(&p);
	/* the preset first, so later options override it */
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		}
		if (strcmp(argv[i], "--preset") == 0 && i + 1 < argc &&
		    modelgen_preset(argv[i + 1], &p) != 0) {
			fprintf(stderr, "gen_model: unknown preset '%s'\n", argv[i + 1]);
			return 64;
		}
	}
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		uint32_t *dst = NULL;

		switch (c) {
		case O_PRESET:
			break;
		case O_ARCH:
			if (strlen(optarg) >= sizeof(p.arch))
				bad = 1;
			else
				snprintf(p.arch, sizeof(p.arch), "%s", optarg);
			break;
		case O_EMBD:
			dst = &p.n_embd;
			break;
		case O_LAYERS:
			dst = &p.n_layer;
			break;
		case O_HEADS:
			dst = &p.n_head;
			break;
		case O_KV:
			dst = &p.n_head_kv;
			break;
		case O_HD:
			dst = &p.head_dim;
			break;
		case O_FF:
			dst = &p.n_ff;
			break;
		case O_VOCAB:
			dst = &p.n_vocab;
			break;
		case O_CTX:
			dst = &p.n_ctx;
			break;
		case O_TYPE:
			if (modelgen_type_from_name(optarg, &p.wtype) != 0) {
				fprintf(stderr, "gen_model: unknown type '%s'\n", optarg);
				bad = 1;
			}
			break;
		case O_MIX:
			p.mix = true;
			break;
		case O_PURE:
			p.mix = false;
			break;
		case O_TIED:
			p.tied = 1;
			break;
		case O_UNTIED:
			p.tied = 0;
			break;
		case O_SEED:
			errno = 0;
			p.seed = strtoull(optarg, NULL, 0);
			if (errno)
				bad = 1;
			break;
		case O_NAME:
			snprintf(p.name, sizeof(p.name), "%s", optarg);
			break;
		case O_STATS:
			stats = 1;
			break;
		default:
			bad = 1;
			break;
		}
		if (dst != NULL) {
			if (parse_u32(optarg, &v32) != 0) {
				fprintf(stderr, "gen_model: '%s' is not a number\n", optarg);
				bad = 1;
			} else {
				*dst = v32;
			}
		}
	}
	if (bad || optind != argc - 1) {
		usage(stderr);
		return 64;
	}
	if (modelgen_check(&p, err, sizeof(err)) != 0) {
		fprintf(stderr, "gen_model: %s\n", err);
		return 64;
	}
	if (modelgen_write(&p, argv[optind], err, sizeof(err)) != 0) {
		fprintf(stderr, "gen_model: %s\n", err);
		unlink(argv[optind]);
		return 1;
	}
	return stats ? print_stats(argv[optind]) : 0;
}
