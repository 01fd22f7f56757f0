/*
 * sha256.h — SHA-256 through OpenSSL's EVP interface (SHA-NI where the CPU has it), hex/base64.
 *
 * Owns: the one place secai hashes. Never: falls back to a hand-written SHA-256.
 */
#ifndef SECAI_SHA256_H
#define SECAI_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN 32
#define SHA256_HEX_LEN 64

struct sha256 {
	void *evp; /* EVP_MD_CTX */
};

int sha256_init(struct sha256 *h);
int sha256_update(struct sha256 *h, const void *p, size_t n);
/* Writes the digest and resets the context for another message. */
int sha256_final(struct sha256 *h, uint8_t out[SHA256_LEN]);
void sha256_free(struct sha256 *h);
/* The calling thread's reusable context (created on first use), for hot loops that hash many
 * small messages. Never hold it across a call that may hash too. NULL on failure. */
struct sha256 *sha256_thread_ctx(void);
/* Frees the calling thread's context; threads that hashed call it before they exit. */
void sha256_thread_cleanup(void);
/* One-shot; uses the per-thread context. Returns 0 or -1. */
int sha256_digest(const void *p, size_t n, uint8_t out[SHA256_LEN]);
/* Streams a file descriptor through SHA-256. */
int sha256_fd(int fd, uint8_t out[SHA256_LEN]);

void hex_encode(const uint8_t *in, size_t n, char *out); /* out: 2n+1 bytes, lowercase */
/* Decodes exactly 2n hex chars (either case) into n bytes; -1 on any bad char. */
int hex_decode(const char *in, size_t inlen, uint8_t *out, size_t n);
/* Standard base64 with padding; out needs ((n+2)/3)*4+1 bytes. Returns length. */
size_t b64_encode(const uint8_t *in, size_t n, char *out);
/* Strict standard base64 (padding required, no whitespace); returns decoded length or -1. */
long b64_decode(const char *in, size_t inlen, uint8_t *out, size_t outcap);

#endif
