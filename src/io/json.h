/* A small, strict JSON parser (RFC 8259) and a string builder, private to the
 * io module. It exists for the safetensors header: every value remembers its
 * byte position so errors can point into the file. Not installed. */
#ifndef SIMLEARN_IO_JSON_H
#define SIMLEARN_IO_JSON_H

#include "internal.h"

typedef enum { SL_JSON_NULL, SL_JSON_BOOL, SL_JSON_NUM, SL_JSON_STR, SL_JSON_ARR, SL_JSON_OBJ } sl_json_type;

typedef struct sl_json sl_json;
struct sl_json {
    sl_json_type type;
    size_t pos;        /* byte position of the value's first character (base + offset) */
    bool b;            /* BOOL */
    double num;        /* NUM */
    bool is_uint;      /* NUM written as a plain non-negative integer that fits in uint64 */
    uint64_t u;        /* NUM, when is_uint */
    char *str;         /* STR: decoded UTF-8, NUL-terminated (\u0000 is rejected) */
    size_t n;          /* ARR/OBJ: number of items */
    sl_json *items;    /* ARR/OBJ: the n values */
    char **keys;       /* OBJ: the n keys, in file order (duplicates are rejected) */
    size_t *key_pos;   /* OBJ: byte position of each key */
};

/* Parse exactly one JSON value from text[0..len), allowing surrounding
 * whitespace only. `what` names the source in messages ("model.safetensors");
 * `base` is the file offset of text[0], so positions are file positions.
 * Rejects: trailing data, duplicate object keys, invalid UTF-8, control
 * characters in strings, \u0000, lone surrogates, leading zeros, nesting
 * deeper than 64. Errors: SL_ERR_FORMAT, SL_ERR_NOMEM. *out freed with
 * sl__json_free. */
sl_status sl__json_parse(const char *text, size_t len, const char *what, size_t base, sl_json **out);
void sl__json_free(sl_json *j);
/* The value under key in an object, or NULL. */
const sl_json *sl__json_get(const sl_json *obj, const char *key);
/* "string", "object", ... for messages. */
const char *sl__json_type_name(sl_json_type t);

/* A growable byte buffer whose appends never fail individually: the first
 * allocation failure is remembered in `failed` and later appends do nothing. */
typedef struct sl_sbuf {
    char *data;
    size_t len, cap;
    bool failed;
} sl_sbuf;
void sl__sbuf_put(sl_sbuf *b, const void *p, size_t n);
void sl__sbuf_puts(sl_sbuf *b, const char *s);
void sl__sbuf_printf(sl_sbuf *b, const char *fmt, ...) SL__PRINTF(2, 3);
/* Append s as a JSON string literal (quotes and escapes included). */
void sl__sbuf_json_str(sl_sbuf *b, const char *s);
void sl__sbuf_free(sl_sbuf *b);

/* True if s[0..n) is well-formed UTF-8 (no overlongs, no surrogates). */
bool sl__utf8_valid(const char *s, size_t n);

#endif
