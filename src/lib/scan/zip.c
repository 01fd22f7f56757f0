/*
 * zip.c — the scanners' read-only zip reader (zip.h).
 *
 * Owns: the end-of-central-directory search, central-directory and local-header parsing (zip64
 * sizes and offsets included), the local-header sweep that finds members the central directory
 * hides, and bounded inflation of deflate members.
 * Never: reads outside data[0..len), computes an end offset without an overflow check, allocates
 * by a count or size taken from the file before bounding it by len, or inflates past max_out.
 */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "scan/zip.h"

#define EOCD_MIN 22u
#define EOCD_SEARCH (EOCD_MIN + 65535u)
#define CDH_SIZE 46u
#define LFH_SIZE 30u

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
	return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

bool zip_sniff(const uint8_t *data, size_t len)
{
	return len >= 4 && data[0] == 'P' && data[1] == 'K' &&
	       ((data[2] == 3 && data[3] == 4) || (data[2] == 5 && data[3] == 6));
}

static void copy_name(char *dst, const uint8_t *p, size_t n)
{
	size_t k = n < ZIP_NAME_MAX ? n : ZIP_NAME_MAX - 4;

	memcpy(dst, p, k);
	if (k < n)
		memcpy(dst + k, "...", 3), k += 3;
	dst[k] = '\0';
	for (size_t i = 0; i < k; i++)
		if (dst[i] == '\0')
			dst[i] = '?';
}

static struct zip_member *add_member(struct zip_archive *z)
{
	if (z->n >= ZIP_MAX_MEMBERS)
		return NULL;
	if (z->n == z->cap) {
		size_t ncap = z->cap ? z->cap * 2 : 16;
		struct zip_member *p = realloc(z->m, ncap * sizeof(*p));

		if (p == NULL)
			return NULL;
		z->m = p;
		z->cap = ncap;
	}
	memset(&z->m[z->n], 0, sizeof(z->m[0]));
	return &z->m[z->n++];
}

/* Fills data_offset from the local header at m->lh_offset; -1 when it is not there. */
static int locate_data(const struct zip_archive *z, struct zip_member *m)
{
	const uint8_t *p;
	uint64_t off;

	if (m->lh_offset > z->len || z->len - m->lh_offset < LFH_SIZE)
		return -1;
	p = z->data + m->lh_offset;
	if (rd32(p) != 0x04034b50u)
		return -1;
	off = m->lh_offset + LFH_SIZE + rd16(p + 26) + rd16(p + 28);
	if (off > z->len)
		return -1;
	m->data_offset = off;
	return 0;
}

/* Zip64 extended information: replaces the 0xFFFFFFFF fields, in order usize, csize, offset. */
static void zip64_extra(const uint8_t *x, size_t xlen, struct zip_member *m, bool u, bool c,
			bool o)
{
	while (xlen >= 4) {
		uint16_t id = rd16(x), sz = rd16(x + 2);
		const uint8_t *d = x + 4;
		size_t left = sz;

		if ((size_t)sz > xlen - 4)
			return;
		if (id == 0x0001) {
			if (u && left >= 8)
				m->usize = rd64(d), d += 8, left -= 8;
			if (c && left >= 8)
				m->csize = rd64(d), d += 8, left -= 8;
			if (o && left >= 8)
				m->lh_offset = rd64(d);
			return;
		}
		x += 4 + sz;
		xlen -= 4 + (size_t)sz;
	}
}

/* Finds and parses the central directory. 0 parsed, 1 absent or broken (finding added). */
static int read_cd(struct zip_archive *z, struct scan_report *r, const char *file)
{
	const uint8_t *d = z->data;
	size_t len = z->len, i, eocd = SIZE_MAX;
	uint64_t cd_off, cd_size, count, pos, end;

	if (len < EOCD_MIN)
		return 1;
	for (i = len - EOCD_MIN + 1; i-- > 0 && len - i <= EOCD_SEARCH;) {
		if (rd32(d + i) == 0x06054b50u) {
			eocd = i;
			break;
		}
	}
	if (eocd == SIZE_MAX) {
		scan_report_add(r, "zip.no_central_directory", SCAN_SEV_WARN, file, SCAN_OFFSET_NONE,
				NULL, "no end-of-central-directory record: members found by content");
		return 1;
	}
	count = rd16(d + eocd + 10);
	cd_size = rd32(d + eocd + 12);
	cd_off = rd32(d + eocd + 16);
	if ((count == 0xffff || cd_size == 0xffffffffu || cd_off == 0xffffffffu) && eocd >= 20 &&
	    rd32(d + eocd - 20) == 0x07064b50u) {
		uint64_t e64 = rd64(d + eocd - 20 + 8);

		if (e64 <= len && len - e64 >= 56 && rd32(d + e64) == 0x06064b50u) {
			count = rd64(d + e64 + 32);
			cd_size = rd64(d + e64 + 40);
			cd_off = rd64(d + e64 + 48);
		}
	}
	if (cd_off > len || cd_size > len - cd_off || count > cd_size / CDH_SIZE ||
	    count > ZIP_MAX_MEMBERS) {
		scan_report_add(r, "zip.bad_central_directory", SCAN_SEV_WARN, file, eocd, NULL,
				"central directory (offset %llu, size %llu, %llu entries) is not inside "
				"the file: members found by content",
				(unsigned long long)cd_off, (unsigned long long)cd_size,
				(unsigned long long)count);
		return 1;
	}
	z->cd_ok = true;
	pos = cd_off;
	end = cd_off + cd_size;
	for (uint64_t k = 0; k < count; k++) {
		const uint8_t *p = d + pos;
		struct zip_member *m;
		size_t nlen, xlen, clen;
		uint32_t cs, us, lo;

		if (end - pos < CDH_SIZE || rd32(p) != 0x02014b50u) {
			scan_report_add(r, "zip.bad_central_directory", SCAN_SEV_WARN, file, pos, NULL,
					"central directory entry %llu is malformed",
					(unsigned long long)k);
			return 1;
		}
		nlen = rd16(p + 28);
		xlen = rd16(p + 30);
		clen = rd16(p + 32);
		if (end - pos - CDH_SIZE < nlen + xlen + clen) {
			scan_report_add(r, "zip.bad_central_directory", SCAN_SEV_WARN, file, pos, NULL,
					"central directory entry %llu runs past the directory",
					(unsigned long long)k);
			return 1;
		}
		m = add_member(z);
		if (m == NULL)
			return -1;
		copy_name(m->name, p + CDH_SIZE, nlen);
		m->flags = rd16(p + 8);
		m->method = rd16(p + 10);
		cs = rd32(p + 20);
		us = rd32(p + 24);
		lo = rd32(p + 42);
		m->csize = cs;
		m->usize = us;
		m->lh_offset = lo;
		zip64_extra(p + CDH_SIZE + nlen, xlen, m, us == 0xffffffffu, cs == 0xffffffffu,
			    lo == 0xffffffffu);
		m->in_cd = true;
		m->sizes_known = true;
		if (locate_data(z, m) != 0 || m->csize > z->len - m->data_offset) {
			scan_report_add(r, "zip.bad_member", SCAN_SEV_WARN, file, m->lh_offset,
					m->name, "member's local header or data is not inside the file");
			z->n--;
		}
		pos += CDH_SIZE + nlen + xlen + clen;
	}
	return 0;
}

static int cmp_range(const void *a, const void *b)
{
	const uint64_t *x = a, *y = b;

	return x[0] < y[0] ? -1 : x[0] > y[0];
}

/* Sweeps the bytes no listed member covers for local headers. */
static int sweep_local(struct zip_archive *z, struct scan_report *r, const char *file)
{
	size_t ncd = z->n, ri = 0;
	uint64_t *rg = NULL, pos = 0;

	if (ncd) {
		rg = calloc(ncd, 2 * sizeof(uint64_t));
		if (rg == NULL)
			return -1;
		for (size_t i = 0; i < ncd; i++) {
			rg[2 * i] = z->m[i].lh_offset;
			rg[2 * i + 1] = z->m[i].data_offset + z->m[i].csize;
		}
		qsort(rg, ncd, 2 * sizeof(uint64_t), cmp_range);
	}
	while (pos + 4 <= z->len) {
		const uint8_t *hit = memmem(z->data + pos, z->len - pos, "PK\x03\x04", 4);
		struct zip_member *m;
		uint64_t at, next;
		const uint8_t *p;
		bool covered = false;

		if (hit == NULL)
			break;
		at = (uint64_t)(hit - z->data);
		while (ri < ncd && rg[2 * ri + 1] <= at)
			ri++;
		for (size_t j = ri; j < ncd && rg[2 * j] <= at; j++) {
			if (at < rg[2 * j + 1]) {
				covered = true;
				pos = rg[2 * j + 1];
				break;
			}
		}
		if (covered)
			continue;
		if (z->len - at < LFH_SIZE) {
			pos = at + 4;
			continue;
		}
		p = z->data + at;
		m = add_member(z);
		if (m == NULL) {
			free(rg);
			return z->n >= ZIP_MAX_MEMBERS ? 0 : -1;
		}
		m->lh_offset = at;
		m->flags = rd16(p + 6);
		m->method = rd16(p + 8);
		m->csize = rd32(p + 18);
		m->usize = rd32(p + 22);
		if (locate_data(z, m) != 0) {
			z->n--;
			pos = at + 4;
			continue;
		}
		copy_name(m->name, p + LFH_SIZE, rd16(p + 26));
		zip64_extra(p + LFH_SIZE + rd16(p + 26), rd16(p + 28), m, m->usize == 0xffffffffu,
			    m->csize == 0xffffffffu, false);
		m->sizes_known = !(m->flags & 0x8) && m->csize <= z->len - m->data_offset;
		if (!m->sizes_known)
			m->csize = z->len - m->data_offset;
		if (z->cd_ok)
			scan_report_add(r, "zip.hidden_member", SCAN_SEV_REJECT, file, at, m->name,
					"local header not listed in the central directory");
		next = m->sizes_known ? m->data_offset + m->csize : at + 4;
		pos = next > at ? next : at + 4;
	}
	free(rg);
	return 0;
}

int zip_open_buffer(const uint8_t *data, size_t len, struct zip_archive *z, struct scan_report *r,
		    const char *file)
{
	memset(z, 0, sizeof(*z));
	z->data = data;
	z->len = len;
	if (read_cd(z, r, file) < 0)
		return -1;
	if (sweep_local(z, r, file) < 0)
		return -1;
	if (z->n >= ZIP_MAX_MEMBERS)
		scan_report_add(r, "zip.too_many_members", SCAN_SEV_REJECT, file, SCAN_OFFSET_NONE,
				NULL, "more than %u members", ZIP_MAX_MEMBERS);
	return 0;
}

void zip_close(struct zip_archive *z)
{
	free(z->m);
	memset(z, 0, sizeof(*z));
}

int zip_member_data(const struct zip_archive *z, const struct zip_member *m, size_t max_out,
		    const uint8_t **out, size_t *outlen, uint8_t **owned, bool *cut,
		    struct scan_report *r, const char *file)
{
	z_stream zs;
	uint8_t *buf = NULL;
	size_t cap, have = 0;
	int zr;

	*out = NULL;
	*outlen = 0;
	*owned = NULL;
	*cut = false;
	if (m->data_offset > z->len || m->csize > z->len - m->data_offset) {
		scan_report_add(r, "zip.bad_member", SCAN_SEV_WARN, file, m->lh_offset, m->name,
				"member data is not inside the file");
		return 1;
	}
	if (m->method == 0) {
		*out = z->data + m->data_offset;
		*outlen = m->csize;
		if (*outlen > max_out) {
			*outlen = max_out;
			*cut = true;
		}
		return 0;
	}
	if (m->method != 8) {
		scan_report_add(r, "zip.unsupported_method", SCAN_SEV_WARN, file, m->lh_offset,
				m->name, "compression method %u cannot be scanned", m->method);
		return 1;
	}
	memset(&zs, 0, sizeof(zs));
	if (inflateInit2(&zs, -15) != Z_OK)
		return -1;
	cap = 65536;
	if (cap > max_out)
		cap = max_out ? max_out : 1;
	buf = malloc(cap);
	if (buf == NULL) {
		inflateEnd(&zs);
		return -1;
	}
	zs.next_in = (Bytef *)(uintptr_t)(z->data + m->data_offset);
	zr = Z_OK;
	{
		uint64_t in_left = m->csize;

		for (;;) {
			uInt chunk_in = in_left > (1u << 30) ? (1u << 30) : (uInt)in_left;
			size_t room;

			if (zs.avail_in == 0) {
				zs.avail_in = chunk_in;
				in_left -= chunk_in;
			}
			if (have == cap) {
				size_t ncap = cap * 2 > max_out ? max_out : cap * 2;
				uint8_t *nb;

				if (ncap <= cap) {
					*cut = true;
					break;
				}
				nb = realloc(buf, ncap);
				if (nb == NULL) {
					free(buf);
					inflateEnd(&zs);
					return -1;
				}
				buf = nb;
				cap = ncap;
			}
			room = cap - have;
			if (room > (1u << 30))
				room = 1u << 30;
			zs.next_out = buf + have;
			zs.avail_out = (uInt)room;
			zr = inflate(&zs, Z_NO_FLUSH);
			have += room - zs.avail_out;
			if (zr == Z_STREAM_END)
				break;
			if (zr == Z_BUF_ERROR && zs.avail_in == 0 && in_left == 0) {
				zr = Z_DATA_ERROR;
				break;
			}
			if (zr != Z_OK && zr != Z_BUF_ERROR)
				break;
		}
	}
	inflateEnd(&zs);
	if (zr != Z_STREAM_END && !*cut)
		scan_report_add(r, "zip.inflate_error", SCAN_SEV_WARN, file, m->lh_offset, m->name,
				"deflate data is corrupt or truncated (%zu bytes recovered)", have);
	if (have == 0) {
		free(buf);
		return zr == Z_STREAM_END ? 0 : 1;
	}
	*out = buf;
	*owned = buf;
	*outlen = have;
	return 0;
}
