/*
 * sha256.c — SHA-256 via OpenSSL EVP, plus hex and base64 codecs (base64 via libsodium).
 *
 * Owns: digest contexts. The SHA256 method is fetched once per thread; contexts are reused so
 * hashing many small messages (Merkle nodes) does not pay a fetch each time.
 */
#include "sha256.h"

#include <errno.h>
#include <openssl/evp.h>
#include <sodium.h>
#include <string.h>
#include <unistd.h>

static _Thread_local EVP_MD *sha256_md;

static EVP_MD *sha256_method(void)
{
	if (sha256_md == NULL)
		sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
	return sha256_md;
}

int sha256_init(struct sha256 *h)
{
	EVP_MD *md = sha256_method();
	EVP_MD_CTX *c;

	h->evp = NULL;
	if (md == NULL || (c = EVP_MD_CTX_new()) == NULL)
		return -1;
	if (EVP_DigestInit_ex2(c, md, NULL) != 1) {
		EVP_MD_CTX_free(c);
		return -1;
	}
	h->evp = c;
	return 0;
}

int sha256_update(struct sha256 *h, const void *p, size_t n)
{
	return EVP_DigestUpdate(h->evp, p, n) == 1 ? 0 : -1;
}

int sha256_final(struct sha256 *h, uint8_t out[SHA256_LEN])
{
	unsigned int len = 0;

	if (EVP_DigestFinal_ex(h->evp, out, &len) != 1 || len != SHA256_LEN)
		return -1;
	return EVP_DigestInit_ex2(h->evp, NULL, NULL) == 1 ? 0 : -1;
}

void sha256_free(struct sha256 *h)
{
	EVP_MD_CTX_free(h->evp);
	h->evp = NULL;
}

static _Thread_local struct sha256 sha256_tls;

struct sha256 *sha256_thread_ctx(void)
{
	if (sha256_tls.evp == NULL && sha256_init(&sha256_tls) != 0)
		return NULL;
	return &sha256_tls;
}

void sha256_thread_cleanup(void)
{
	sha256_free(&sha256_tls);
	EVP_MD_free(sha256_md);
	sha256_md = NULL;
}

int sha256_digest(const void *p, size_t n, uint8_t out[SHA256_LEN])
{
	struct sha256 *h = sha256_thread_ctx();

	if (h == NULL || sha256_update(h, p, n) != 0)
		return -1;
	return sha256_final(h, out);
}

int sha256_fd(int fd, uint8_t out[SHA256_LEN])
{
	static const size_t bufsz = 1 << 20;
	struct sha256 h;
	unsigned char *buf;
	int rc = -1;

	if ((buf = malloc(bufsz)) == NULL)
		return -1;
	if (sha256_init(&h) != 0) {
		free(buf);
		return -1;
	}
	for (;;) {
		ssize_t r = read(fd, buf, bufsz);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			goto done;
		if (r == 0)
			break;
		if (sha256_update(&h, buf, (size_t)r) != 0)
			goto done;
	}
	rc = sha256_final(&h, out);
done:
	sha256_free(&h);
	free(buf);
	return rc;
}

void hex_encode(const uint8_t *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

/* digit value + 1; 0 marks a non-hex character */
static const uint8_t hexval_tab[256] = {
    ['0'] = 1,  ['1'] = 2,  ['2'] = 3,  ['3'] = 4,  ['4'] = 5,  ['5'] = 6,  ['6'] = 7,  ['7'] = 8,
    ['8'] = 9,  ['9'] = 10, ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
    ['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16};

int hex_decode(const char *in, size_t inlen, uint8_t *out, size_t n)
{
	unsigned bad = 0;

	if (inlen != 2 * n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned hi = hexval_tab[(unsigned char)in[2 * i]];
		unsigned lo = hexval_tab[(unsigned char)in[2 * i + 1]];
		bad |= (hi == 0) | (lo == 0);
		out[i] = (uint8_t)((hi - 1) << 4 | (lo - 1));
	}
	return bad ? -1 : 0;
}

size_t b64_encode(const uint8_t *in, size_t n, char *out)
{
	size_t cap = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);

	sodium_bin2base64(out, cap, in, n, sodium_base64_VARIANT_ORIGINAL);
	return strlen(out);
}

long b64_decode(const char *in, size_t inlen, uint8_t *out, size_t outcap)
{
	size_t got = 0;
	const char *end = NULL;

	if (inlen % 4 != 0)
		return -1;
	if (sodium_base642bin(out, outcap, in, inlen, NULL, &got, &end,
			      sodium_base64_VARIANT_ORIGINAL) != 0)
		return -1;
	if (end != in + inlen)
		return -1;
	return (long)got;
}
