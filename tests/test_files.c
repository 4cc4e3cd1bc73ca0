/* test_files.c — the JSON reader/writer and the safetensors reader/writer.
 *
 * Reference files: the model and intervention safetensors files under
 * tests/data/ref/<case>/ and the data, expected and debug files beside them
 * were written by Python's safetensors (torch's save_file). The tests open every one of them and check
 * names and shapes against config.json, values against an independent decode,
 * and the model's logits recomputed from its weights and data against
 * expected.safetensors.
 *
 * Files written here load in Python: the writer's output (all three dtypes,
 * metadata, padding) was checked with a few lines of plain Python reading the
 * header with struct.unpack('<Q') + json.loads and the data with
 * numpy.frombuffer, applying the reference's rules (Debian has no
 * python3-safetensors package to install), and with the reference's own Rust
 * reader (huggingface/safetensors v0.6.2, built against Debian's serde
 * crates). That reader was also run on thousands of corrupted and generated
 * files next to vn_safetensors_open: apart from the three stricter rules
 * listed in nn/README.md, both accept and reject the same files. */
#define _POSIX_C_SOURCE 200809L
#include <check.h>
#include <dirent.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "test_support.h"
#include "vn_json.h"
#include "vn_safetensors.h"

#define ERR_SIZE 512

/* An assertion for hot loops: Check's own macros report every passing check
 * to the runner, which costs a system call each. */
#define REQUIRE(cond, ...)                                   \
    do {                                                     \
        if (!(cond)) ck_abort_msg(__VA_ARGS__);                \
    } while (0)

/* ---- helpers ----------------------------------------------------------- */

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;
static uint64_t rng_next(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static double bits_to_double(uint64_t u) {
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

static uint64_t double_to_bits(double d) {
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

/* Parses `text` (strlen bytes) into a fresh arena; the caller releases. */
static vn_status parse_text(const char *text, size_t length, vn_arena *arena, const vn_json_value **out,
                            char *err) {
    return vn_json_parse(text, length, arena, out, err, ERR_SIZE);
}

/* A copy in its own malloc block of exactly `size` bytes, so that ASan sees
 * any read past the end. */
static unsigned char *exact_copy(const void *src, size_t size) {
    unsigned char *p = malloc(size ? size : 1);
    ck_assert_ptr_nonnull(p);
    if (size) memcpy(p, src, size);
    return p;
}

/* ======================================================================== */
/* JSON reader                                                              */
/* ======================================================================== */

START_TEST(test_json_values) {
    vn_arena arena;
    vn_host_arena(&arena, NULL);
    char err[ERR_SIZE];
    const char *text =
        "{\"n\": null, \"t\": true, \"f\": false, \"i\": -42, \"d\": 2.5,\n"
        " \"s\": \"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\\u0000z\",\n"
        " \"arr\": [1, [2, [3]], {\"k\": \"v\"}], \"obj\": {\"x\": {}, \"y\": []},\n"
        " \"raw\": \"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"}";
    const vn_json_value *root;
    ck_assert_int_eq(parse_text(text, strlen(text), &arena, &root, err), VN_OK);
    ck_assert_int_eq(root->type, VN_JSON_OBJECT);
    ck_assert_uint_eq(vn_json_length(root), 9);
    /* document order */
    const char *keys[] = {"n", "t", "f", "i", "d", "s", "arr", "obj", "raw"};
    for (size_t i = 0; i < 9; i++) ck_assert_str_eq(vn_json_member_at(root, i)->key, keys[i]);
    ck_assert_ptr_null(vn_json_member_at(root, 9));
    ck_assert_int_eq(vn_json_get(root, "n")->type, VN_JSON_NULL);
    ck_assert(vn_json_get(root, "t")->boolean);
    ck_assert(!vn_json_get(root, "f")->boolean);
    const vn_json_value *i = vn_json_get(root, "i");
    ck_assert(i->is_integer && i->integer == -42 && i->number == -42.0);
    const vn_json_value *d = vn_json_get(root, "d");
    ck_assert(!d->is_integer && !d->integer_syntax && d->number == 2.5);
    const vn_json_value *s = vn_json_get(root, "s");
    const char want[] = "a\"b\\c/d\b\f\n\r\t\xc3\xa9\xf0\x9f\x98\x80\0z";
    ck_assert_uint_eq(s->length, sizeof want - 1);
    ck_assert(memcmp(s->string, want, sizeof want) == 0); /* includes the final NUL */
    const vn_json_value *arr = vn_json_get(root, "arr");
    ck_assert_uint_eq(vn_json_length(arr), 3);
    ck_assert_int_eq(vn_json_at(arr, 0)->integer, 1);
    ck_assert_int_eq(vn_json_at(vn_json_at(vn_json_at(arr, 1), 1), 0)->integer, 3);
    ck_assert_str_eq(vn_json_get(vn_json_at(arr, 2), "k")->string, "v");
    ck_assert_ptr_null(vn_json_at(arr, 3));
    ck_assert_ptr_null(vn_json_at(root, 0)); /* not an array */
    ck_assert_ptr_null(vn_json_get(arr, "k"));  /* not an object */
    ck_assert_ptr_null(vn_json_get(root, "missing"));
    ck_assert_ptr_null(vn_json_get(root, "ar"));
    ck_assert_uint_eq(vn_json_length(vn_json_get(vn_json_get(root, "obj"), "x")), 0);
    ck_assert_str_eq(vn_json_get(root, "raw")->string, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
    /* locations */
    ck_assert_uint_eq(vn_json_get(root, "i")->line, 1);
    ck_assert_uint_eq(vn_json_get(root, "i")->column, 41);
    ck_assert_uint_eq(vn_json_get(root, "s")->line, 2);
    ck_assert_uint_eq(vn_json_get(root, "s")->column, 7);
    /* a key with an escaped NUL is found only by length */
    const char *text2 = "{\"a\\u0000b\": 1, \"a\": 2}";
    ck_assert_int_eq(parse_text(text2, strlen(text2), &arena, &root, err), VN_OK);
    ck_assert_int_eq(vn_json_get(root, "a")->integer, 2);
    ck_assert_int_eq(vn_json_get_n(root, "a\0b", 3)->integer, 1);
    vn_arena_release(&arena);
}
END_TEST

START_TEST(test_json_numbers) {
    vn_arena arena;
    vn_host_arena(&arena, NULL);
    char err[ERR_SIZE];
    static const struct {
        const char *text;
        bool integer_syntax, is_integer;
        int64_t integer;
        bool is_uint64;
        uint64_t uint64;
    } cases[] = {
        {"0", true, true, 0, true, 0},
        {"-0", true, true, 0, false, 0},
        {"9223372036854775807", true, true, INT64_MAX, true, INT64_MAX},
        {"-9223372036854775808", true, true, INT64_MIN, false, 0},
        {"9223372036854775808", true, false, 0, true, (uint64_t)1 << 63},
        {"18446744073709551615", true, false, 0, true, UINT64_MAX},
        {"-9223372036854775809", true, false, 0, false, 0},
        {"18446744073709551616", true, false, 0, false, 0},
        {"1.0", false, false, 0, false, 0},
        {"1e2", false, false, 0, false, 0},
        {"1E+2", false, false, 0, false, 0},
        {"-0.5e-3", false, false, 0, false, 0},
        {"123456789012", true, true, 123456789012LL, true, 123456789012ULL},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const vn_json_value *v;
        ck_assert_msg(parse_text(cases[k].text, strlen(cases[k].text), &arena, &v, err) == VN_OK, "%s: %s",
                      cases[k].text, err);
        ck_assert_int_eq(v->type, VN_JSON_NUMBER);
        ck_assert_msg(v->integer_syntax == cases[k].integer_syntax, "%s", cases[k].text);
        ck_assert_msg(v->is_integer == cases[k].is_integer, "%s", cases[k].text);
        if (v->is_integer) ck_assert_msg(v->integer == cases[k].integer, "%s", cases[k].text);
        ck_assert_msg(v->is_uint64 == cases[k].is_uint64, "%s", cases[k].text);
        if (v->is_uint64) ck_assert_msg(v->uint64 == cases[k].uint64, "%s", cases[k].text);
        ck_assert_msg(double_to_bits(v->number) == double_to_bits(strtod(cases[k].text, NULL)), "%s",
                      cases[k].text);
    }
    /* -0 keeps its sign as a double */
    const vn_json_value *v;
    ck_assert_int_eq(parse_text("-0", 2, &arena, &v, err), VN_OK);
    ck_assert(signbit(v->number));
    /* underflow to zero and to subnormals, boundary cases */
    const char *edge[] = {"1e-400", "4.9406564584124654e-324", "2.4703282292062327e-324",
                          "2.4703282292062328e-324", "2.2250738585072011e-308", "2.2250738585072012e-308",
                          "1.7976931348623157e308", "1.7976931348623158e308", "0.1", "0.3",
                          "9007199254740993", "9007199254740992.5", "123456789012345678901234567890e-10",
                          "0.000000000000000000000000000000000000000000000001"};
    for (size_t k = 0; k < sizeof edge / sizeof edge[0]; k++) {
        ck_assert_int_eq(parse_text(edge[k], strlen(edge[k]), &arena, &v, err), VN_OK);
        ck_assert_msg(double_to_bits(v->number) == double_to_bits(strtod(edge[k], NULL)), "%s", edge[k]);
    }
    /* 1000-digit literals just above and at a halfway point */
    char big[1100];
    strcpy(big, "1.");
    for (int k = 0; k < 1000; k++) strcat(big, k == 999 ? "1" : "0");
    ck_assert_int_eq(parse_text(big, strlen(big), &arena, &v, err), VN_OK);
    ck_assert(v->number == 1.0);
    /* many digits at the ends of the exponent range */
    static char lit[1200];
    const int exps[] = {-1200, -1131, -1130, -1129, -1100, -800, -500, -490, 0, 1, -323, -350};
    for (size_t k = 0; k < sizeof exps / sizeof exps[0]; k++) {
        for (int nd = 1; nd <= 1000; nd = nd < 20 ? nd + 1 : nd * 2) {
            int pos = 0;
            lit[pos++] = (char)('1' + rng_next() % 9);
            for (int j = 1; j < nd; j++) lit[pos++] = (char)('0' + rng_next() % 10);
            pos += sprintf(lit + pos, "e%d", exps[k]);
            double want = strtod(lit, NULL), mine = 0;
            bool ok = vn_json_parse_double(lit, (size_t)pos, &mine);
            REQUIRE(ok == !isinf(want), "%s", lit);
            REQUIRE(!ok || double_to_bits(mine) == double_to_bits(want), "%d digits e%d: %.17g vs %.17g", nd,
                    exps[k], mine, want);
        }
    }
    /* too large for a double */
    const char *huge[] = {"1e309", "-1e400", "1.7976931348623159e308", "1e99999999999999999999"};
    for (size_t k = 0; k < 4; k++) {
        ck_assert_int_eq(parse_text(huge[k], strlen(huge[k]), &arena, &v, err), VN_EFORMAT);
        ck_assert_msg(strstr(err, "too large") != NULL, "%s", err);
    }
    vn_arena_release(&arena);
}
END_TEST

/* Invalid documents and a piece of the message each must give. */
static const struct bad_json {
    const char *text;
    const char *needle;
} bad_json[] = {
    {"", "expected a value, found end of input"},
    {"   \n ", "expected a value"},
    {"[1,]", "trailing comma"},
    {"{\"a\":1,}", "trailing comma"},
    {"[1 2]", "expected ',' or ']'"},
    {"{\"a\" 1}", "expected ':'"},
    {"{\"a\":1 \"b\":2}", "expected ',' or '}'"},
    {"{a:1}", "expected a string key"},
    {"{'a':1}", "expected a string key"},
    {"['a']", "expected a value"},
    {"// comment\n1", "expected a value"},
    {"/* c */ 1", "expected a value"},
    {"[1] // c", "expected end of input"},
    {"[1]/**/", "expected end of input"},
    {"01", "leading zeros"},
    {"-01", "leading zeros"},
    {"00", "leading zeros"},
    {"[0123]", "leading zeros"},
    {"-", "expected a digit"},
    {"+1", "expected a value"},
    {".5", "expected a value"},
    {"1.", "expected a digit after '.'"},
    {"1.e3", "expected a digit after '.'"},
    {"1e", "expected a digit in the exponent"},
    {"1e+", "expected a digit in the exponent"},
    {"0x10", "expected end of input"},
    {"NaN", "expected a value"},
    {"Infinity", "expected a value"},
    {"-Infinity", "expected a digit"},
    {"[nan]", "expected a value"},
    {"1 2", "expected end of input"},
    {"{} {}", "expected end of input"},
    {"[1]]", "expected end of input"},
    {"tru", "expected a value"},
    {"nul", "expected a value"},
    {"True", "expected a value"},
    {"[1,2", "expected ',' or ']'"},
    {"{\"a\":", "expected a value, found end of input"},
    {"\"abc", "unterminated string"},
    {"\"a\nb\"", "control character 0x0a"},
    {"\"a\tb\"", "control character 0x09"},
    {"\"\\x41\"", "invalid escape"},
    {"\"\\u12\"", "4 hexadecimal digits"},
    {"\"\\uZZZZ\"", "4 hexadecimal digits"},
    {"\"\\ud800\"", "lone high surrogate"},
    {"\"\\udc00\"", "lone low surrogate"},
    {"\"\\udc00\\ud800\"", "lone low surrogate"},
    {"\"\\ud800\\u0041\"", "lone high surrogate"},
    {"\"\\ud800\\ud800\"", "lone high surrogate"},
    {"\"\\ud800x\"", "lone high surrogate"},
    {"\"\\", "unterminated escape"},
    {"\"\xc0\x80\"", "overlong"},
    {"\"\xc1\xbf\"", "overlong"},
    {"\"\xe0\x80\xaf\"", "overlong"},
    {"\"\xf0\x80\x80\xaf\"", "overlong"},
    {"\"\xed\xa0\x80\"", "surrogate"},
    {"\"\xed\xbf\xbf\"", "surrogate"},
    {"\"\xf4\x90\x80\x80\"", "above U+10FFFF"},
    {"\"\xf5\x80\x80\x80\"", "above U+10FFFF"},
    {"\"\xff\"", "never used"},
    {"\"\xfe\"", "never used"},
    {"\"\x80\"", "continuation byte"},
    {"\"\xe2\x82\"", "truncated"},
    {"\"\xe2\x82", "truncated by the end of input"},
    {"\"\xf0\x9f\x98\"", "truncated"},
    {"\xef\xbb\xbf[]", "expected a value"},
    {"[\xc3\xa9]", "expected a value"},
    {"[\xc3]", "truncated"},
    {"{\"a\":1,\"a\":2}", "duplicate key \"a\""},
    {"{\"a\":1,\"\\u0061\":2}", "duplicate key \"a\""},
    {"{\"x\":{\"b\":1,\"c\":2,\"b\":3}}", "duplicate key \"b\""},
    {"1e400", "too large"},
};

START_TEST(test_json_reject) {
    const struct bad_json *c = &bad_json[_i];
    vn_arena arena;
    vn_host_arena(&arena, NULL);
    char err[ERR_SIZE];
    size_t length = strlen(c->text);
    unsigned char *copy = exact_copy(c->text, length);
    const vn_json_value *v = NULL;
    vn_arena_mark before = vn_arena_get_mark(&arena);
    vn_status status = vn_json_parse(copy, length, &arena, &v, err, sizeof err);
    ck_assert_msg(status == VN_EFORMAT, "input %d accepted or wrong status %d", _i, status);
    ck_assert_msg(strstr(err, c->needle) != NULL, "input %d: message \"%s\" lacks \"%s\"", _i, err, c->needle);
    ck_assert_msg(strncmp(err, "line ", 5) == 0, "input %d: message without location: %s", _i, err);
    /* the arena is rewound on failure */
    ck_assert_uint_eq(arena.in_use, before.in_use);
    free(copy);
    vn_arena_release(&arena);
}
END_TEST

START_TEST(test_json_error_location) {
    vn_arena arena;
    vn_host_arena(&arena, NULL);
    char err[ERR_SIZE];
    const char *text = "{\n  \"a\": [1,\n  2,,]\n}";
    const vn_json_value *v;
    ck_assert_int_eq(parse_text(text, strlen(text), &arena, &v, err), VN_EFORMAT);
    ck_assert_msg(strstr(err, "line 3, column 5 (byte 17)") != NULL, "%s", err);
    ck_assert_msg(strstr(err, "found ','") != NULL, "%s", err);
    /* the duplicate is reported where it occurs, with the first one */
    const char *dup = "{\"k\": 1,\n \"k\": 2}";
    ck_assert_int_eq(parse_text(dup, strlen(dup), &arena, &v, err), VN_EFORMAT);
    ck_assert_msg(strstr(err, "line 2, column 2") != NULL && strstr(err, "first at line 1, column 2") != NULL,
                  "%s", err);
    /* a message is cut to the buffer, always terminated */
    char small[16];
    memset(small, 'x', sizeof small);
    ck_assert_int_eq(vn_json_parse("[", 1, &arena, &v, small, sizeof small), VN_EFORMAT);
    ck_assert_uint_eq(strlen(small), sizeof small - 1);
    ck_assert_int_eq(vn_json_parse("[", 1, &arena, &v, NULL, 0), VN_EFORMAT);
    ck_assert_int_eq(vn_json_parse(NULL, 1, &arena, &v, err, sizeof err), VN_EINVAL);
    vn_arena_release(&arena);
}
END_TEST

START_TEST(test_json_depth) {
    vn_arena arena;
    vn_host_arena(&arena, NULL);
    char err[ERR_SIZE];
    const vn_json_value *v;
    size_t n = 20000;
    char *text = malloc(2 * n + 16);
    ck_assert_ptr_nonnull(text);
    /* exactly the limit: accepted */
    for (int depth = VN_JSON_MAX_DEPTH; depth <= VN_JSON_MAX_DEPTH + 1; depth++) {
        size_t k = 0;
        for (int i = 0; i < depth; i++) text[k++] = '[';
        for (int i = 0; i < depth; i++) text[k++] = ']';
        vn_status status = parse_text(text, k, &arena, &v, err);
        if (depth == VN_JSON_MAX_DEPTH) {
            ck_assert_msg(status == VN_OK, "%s", err);
            for (int i = 1; i < depth; i++) v = vn_json_at(v, 0);
            ck_assert_int_eq(v->type, VN_JSON_ARRAY);
            ck_assert_uint_eq(vn_json_length(v), 0);
        } else {
            ck_assert_int_eq(status, VN_EFORMAT);
            ck_assert_msg(strstr(err, "nested deeper than 64") != NULL, "%s", err);
        }
    }
    /* 10,000 levels of arrays, balanced and not */
    for (size_t i = 0; i < 10000; i++) text[i] = '[';
    ck_assert_int_eq(parse_text(text, 10000, &arena, &v, err), VN_EFORMAT);
    ck_assert_msg(strstr(err, "nested deeper") != NULL, "%s", err);
    for (size_t i = 0; i < 10000; i++) text[10000 + i] = ']';
    ck_assert_int_eq(parse_text(text, 20000, &arena, &v, err), VN_EFORMAT);
    ck_assert_msg(strstr(err, "column 65") != NULL, "%s", err);
    /* 10,000 levels of objects */
    size_t k = 0;
    for (size_t i = 0; i < 10000 && k + 5 < 2 * n; i++) {
        memcpy(text + k, "{\"a\":", 5);
        k += 5;
    }
    ck_assert_int_eq(parse_text(text, k, &arena, &v, err), VN_EFORMAT);
    ck_assert_msg(strstr(err, "nested deeper") != NULL, "%s", err);
    free(text);
    vn_arena_release(&arena);
}
END_TEST

START_TEST(test_json_big) {
    vn_arena arena;
    vn_host_arena(&arena, NULL);
    char err[ERR_SIZE];
    /* {"nums": [0, 1.5, 3, ...], "k0": 0, ..., "k19999": 19999} */
    size_t count = 200000, keys = 20000;
    size_t cap = count * 16 + keys * 24 + 64;
    char *text = malloc(cap);
    ck_assert_ptr_nonnull(text);
    size_t n = (size_t)sprintf(text, "{\"nums\": [");
    for (size_t i = 0; i < count; i++)
        n += (size_t)sprintf(text + n, i % 2 ? "%s%zu.5" : "%s%zu", i ? ", " : "", i);
    n += (size_t)sprintf(text + n, "]");
    for (size_t i = 0; i < keys; i++) n += (size_t)sprintf(text + n, ",\n\"k%zu\": %zu", (i * 7919) % keys, i);
    n += (size_t)sprintf(text + n, "}");
    ck_assert(n < cap);
    const vn_json_value *root;
    ck_assert_msg(parse_text(text, n, &arena, &root, err) == VN_OK, "%s", err);
    const vn_json_value *nums = vn_json_get(root, "nums");
    ck_assert_uint_eq(vn_json_length(nums), count);
    for (size_t i = 0; i < count; i++) {
        const vn_json_value *x = vn_json_at(nums, i);
        REQUIRE(x->number == (double)i + (i % 2 ? 0.5 : 0.0), "nums[%zu]", i);
        REQUIRE(x->is_integer == (i % 2 == 0), "nums[%zu]", i);
    }
    ck_assert_uint_eq(vn_json_length(root), keys + 1);
    for (size_t i = 0; i < keys; i++) {
        char key[32];
        sprintf(key, "k%zu", (i * 7919) % keys);
        const vn_json_value *x = vn_json_get(root, key);
        REQUIRE(x != NULL, "%s", key);
        REQUIRE(x->integer == (int64_t)i, "%s", key);
    }
    /* the same document with one duplicate key at the very end */
    text[n - 1] = '\0';
    n = strlen(text);
    n += (size_t)sprintf(text + n, ", \"k123\": 0}");
    ck_assert_int_eq(parse_text(text, n, &arena, &root, err), VN_EFORMAT);
    ck_assert_msg(strstr(err, "duplicate key \"k123\"") != NULL, "%s", err);
    free(text);
    vn_arena_release(&arena);
}
END_TEST

START_TEST(test_json_out_of_memory) {
    static unsigned char buffer[2048];
    vn_arena arena;
    vn_arena_init_buffer(&arena, buffer, sizeof buffer);
    char err[ERR_SIZE];
    char text[4096];
    size_t n = 0;
    text[n++] = '[';
    for (int i = 0; i < 400; i++) n += (size_t)sprintf(text + n, i ? ",\"s%d\"" : "\"s%d\"", i);
    text[n++] = ']';
    const vn_json_value *v;
    ck_assert_int_eq(parse_text(text, n, &arena, &v, err), VN_ENOMEM);
    ck_assert_msg(strstr(err, "out of memory") != NULL, "%s", err);
    ck_assert_uint_eq(arena.used, 0);
    /* a small document fits */
    ck_assert_int_eq(parse_text("[1,2,3]", 7, &arena, &v, err), VN_OK);
}
END_TEST

/* A metadata value holding NUL is not a C string: vn_safetensors_metadata_get
 * refuses it ("12\u0000junk" must not read as "12"); _find gives its bytes. */
START_TEST(test_safetensors_metadata_with_nul) {
    static const char header[] = "{\"__metadata__\":{\"step\":\"12\\u0000junk\",\"ok\":\"7\"}}";
    size_t n = sizeof header - 1;
    unsigned char file[8 + sizeof header];
    for (int b = 0; b < 8; b++) file[b] = (unsigned char)((uint64_t)n >> (8 * b));
    memcpy(file + 8, header, n);
    vn_arena arena;
    vn_host_arena(&arena, NULL);
    char err[ERR_SIZE];
    vn_safetensors st;
    unsigned char *copy = exact_copy(file, 8 + n);
    ck_assert_msg(vn_safetensors_open(&st, copy, 8 + n, &arena, err, sizeof err) == VN_OK, "%s", err);
    ck_assert_ptr_null(vn_safetensors_metadata_get(&st, "step"));
    const vn_safetensors_metadata *m = vn_safetensors_metadata_find(&st, "step");
    ck_assert_ptr_nonnull(m);
    ck_assert_uint_eq(m->value_length, 7);
    ck_assert_str_eq(vn_safetensors_metadata_get(&st, "ok"), "7");
    free(copy);
    vn_arena_release(&arena);
}
END_TEST

START_TEST(test_json_getters) {
    vn_arena arena;
    vn_host_arena(&arena, NULL);
    char err[ERR_SIZE];
    const char *text = "{\"h_dim\": \"16\", \"x\": 1.5, \"n\": 7, \"b\": true, \"big\": 99999999999999999999}";
    const vn_json_value *root;
    ck_assert_int_eq(parse_text(text, strlen(text), &arena, &root, err), VN_OK);
    int64_t i64;
    double d;
    bool b;
    const char *s;
    size_t len;
    ck_assert_int_eq(vn_json_get_int64(vn_json_get(root, "h_dim"), "\"h_dim\"", &i64, err, sizeof err), VN_EFORMAT);
    ck_assert_str_eq(err, "line 1, column 11: expected an integer for \"h_dim\", found string");
    ck_assert_int_eq(vn_json_get_int64(vn_json_get(root, "x"), "\"x\"", &i64, err, sizeof err), VN_EFORMAT);
    ck_assert_msg(strstr(err, "fraction or exponent") != NULL, "%s", err);
    ck_assert_int_eq(vn_json_get_int64(vn_json_get(root, "big"), "\"big\"", &i64, err, sizeof err), VN_EFORMAT);
    ck_assert_msg(strstr(err, "outside the int64 range") != NULL, "%s", err);
    ck_assert_int_eq(vn_json_get_int64(vn_json_get(root, "n"), "\"n\"", &i64, err, sizeof err), VN_OK);
    ck_assert_int_eq(i64, 7);
    ck_assert_int_eq(vn_json_get_number(vn_json_get(root, "n"), NULL, &d, err, sizeof err), VN_OK);
    ck_assert(d == 7.0);
    ck_assert_int_eq(vn_json_get_number(vn_json_get(root, "b"), NULL, &d, err, sizeof err), VN_EFORMAT);
    ck_assert_msg(strstr(err, "expected a number for value, found boolean") != NULL, "%s", err);
    ck_assert_int_eq(vn_json_get_bool(vn_json_get(root, "b"), "\"b\"", &b, err, sizeof err), VN_OK);
    ck_assert(b);
    ck_assert_int_eq(vn_json_get_string(vn_json_get(root, "h_dim"), "\"h_dim\"", &s, &len, err, sizeof err), VN_OK);
    ck_assert_str_eq(s, "16");
    ck_assert_uint_eq(len, 2);
    ck_assert_int_eq(vn_json_get_string(vn_json_get(root, "nope"), "\"nope\"", &s, &len, err, sizeof err), VN_EFORMAT);
    ck_assert_str_eq(err, "missing \"nope\" (expected a string)");
    /* A string holding NUL: its bytes with a length, never as a C string. */
    const char *with_nul = "{\"unit\": \"pos\\u0000x\"}";
    const vn_json_value *nul_root;
    ck_assert_int_eq(parse_text(with_nul, strlen(with_nul), &arena, &nul_root, err), VN_OK);
    ck_assert_int_eq(vn_json_get_string(vn_json_get(nul_root, "unit"), "\"unit\"", &s, &len, err, sizeof err), VN_OK);
    ck_assert_uint_eq(len, 5);
    ck_assert_int_eq(vn_json_get_string(vn_json_get(nul_root, "unit"), "\"unit\"", &s, NULL, err, sizeof err),
                     VN_EFORMAT);
    ck_assert_str_eq(err, "line 1, column 10: \"unit\" contains a NUL character (\\u0000)");
    ck_assert_int_eq(vn_json_expect(root, VN_JSON_ARRAY, "the root", err, sizeof err), VN_EFORMAT);
    ck_assert_str_eq(err, "line 1, column 1: expected an array for the root, found object");
    ck_assert_int_eq(vn_json_expect(root, VN_JSON_OBJECT, "the root", err, sizeof err), VN_OK);
    ck_assert_str_eq(vn_json_type_name(VN_JSON_NUMBER), "number");
    vn_arena_release(&arena);
}
END_TEST

/* Decimal -> double against the host's strtod (glibc's is correctly
 * rounded) on random literals of every length and exponent. */
START_TEST(test_json_parse_vs_strtod) {
    char s[160];
    for (int it = 0; it < 100000; it++) {
        int pos = 0;
        if (rng_next() & 1) s[pos++] = '-';
        int nd = 1 + (int)(rng_next() % (it % 4 == 0 ? 60 : 20));
        int point = (int)(rng_next() % (unsigned)(nd + 1));
        s[pos++] = (char)('1' + rng_next() % 9);
        for (int k = 1; k < nd; k++) {
            if (k == point) s[pos++] = '.';
            s[pos++] = (char)('0' + rng_next() % 10);
        }
        int e = (int)(rng_next() % 700) - 360;
        pos += sprintf(s + pos, "e%d", e);
        double mine = 0, want = strtod(s, NULL);
        bool ok = vn_json_parse_double(s, (size_t)pos, &mine);
        if (isinf(want)) {
            REQUIRE(!ok, "%s accepted though out of range", s);
        } else {
            REQUIRE(ok, "%s rejected", s);
            REQUIRE(double_to_bits(mine) == double_to_bits(want), "%s: %.17g, strtod %.17g", s, mine, want);
        }
    }
}
END_TEST

#if LDBL_MANT_DIG >= 64
/* Exact halfway points between neighbouring doubles (printed exactly by the
 * host from a long double), and values a hair above and below them. */
START_TEST(test_json_parse_halfway) {
    static char s[1400];
    for (int it = 0; it < 2000; it++) {
        /* a random normal double, not too close to the range ends */
        uint64_t bits = rng_next() & 0x7FFFFFFFFFFFFFFFULL;
        int bexp = 1 + (int)(rng_next() % 2000);
        bits = (bits & 0x000FFFFFFFFFFFFFULL) | ((uint64_t)bexp << 52);
        double lo = bits_to_double(bits);
        double hi = nextafter(lo, INFINITY);
        long double mid = (long double)lo + ((long double)hi - (long double)lo) / 2;
        int len = snprintf(s, sizeof s - 8, "%.1100Le", mid);
        REQUIRE(len > 0 && len < (int)sizeof s - 8, "%d", len);
        /* exact: ties to even */
        double mine = 0;
        REQUIRE(vn_json_parse_double(s, strlen(s), &mine), "%s", s);
        double even = (double_to_bits(lo) & 1) ? hi : lo;
        REQUIRE(mine == even && mine == strtod(s, NULL), "halfway %s", s);
        /* a hair above: insert a 1 after the last digit of the mantissa */
        char *e = strchr(s, 'e');
        char tail[16];
        strcpy(tail, e);
        sprintf(e, "1%s", tail);
        REQUIRE(vn_json_parse_double(s, strlen(s), &mine), "%s", s);
        REQUIRE(mine == hi, "above %s", s);
    }
}
END_TEST
#endif

/* ======================================================================== */
/* JSON writer                                                              */
/* ======================================================================== */

static int buffer_write(void *user, const char *bytes, size_t length) {
    return vn_host_buffer_write(user, bytes, length);
}

/* NUL-terminates a host buffer's text. */
static const char *buffer_text(vn_host_buffer *b) {
    vn_host_buffer_write(b, "", 1);
    b->size--;
    return (const char *)b->data;
}

static const char *format_number(double x, char *buf) {
    size_t n = vn_json_format_double(x, buf);
    buf[n] = '\0';
    return buf;
}

START_TEST(test_json_write_numbers) {
    char buf[VN_JSON_NUMBER_MAX];
    static const struct {
        double value;
        const char *text;
    } cases[] = {
        {0.3, "0.3"},
        {1e-3, "0.001"},
        {0.1 + 0.2, "0.30000000000000004"},
        {100.0, "100.0"},
        {1.0, "1.0"},
        {-2.5, "-2.5"},
        {0.0, "0.0"},
        {-0.0, "-0.0"},
        {1e-4, "0.0001"},
        {1e-5, "1e-05"},
        {1.5e-7, "1.5e-07"},
        {1e15, "1000000000000000.0"},
        {1e16, "1e+16"},
        {123456789.0, "123456789.0"},
        {1.5e300, "1.5e+300"},
        {5e-324, "5e-324"},
        {DBL_MAX, "1.7976931348623157e+308"},
        {DBL_MIN, "2.2250738585072014e-308"},
        {9007199254740993.0, "9007199254740992.0"},
        {1.0 / 3.0, "0.3333333333333333"},
        {2.0 / 3.0, "0.6666666666666666"},
        {(double)0.1f, "0.10000000149011612"},
        {5e-310, "5e-310"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
        ck_assert_str_eq(format_number(cases[k].value, buf), cases[k].text);
    ck_assert_uint_eq(vn_json_format_double(NAN, buf), 0);
    ck_assert_uint_eq(vn_json_format_double(INFINITY, buf), 0);
    ck_assert_uint_eq(vn_json_format_double(-INFINITY, buf), 0);
}
END_TEST

/* Fewest digits that round-trip, compared with the host's %.*e at the
 * smallest precision that strtod reads back exactly. */
static void check_shortest(double x) {
    char mine[VN_JSON_NUMBER_MAX], host[64];
    if (x == 0) {
        ck_assert_str_eq(format_number(x, mine), signbit(x) ? "-0.0" : "0.0");
        return;
    }
    size_t n = vn_json_format_double(x, mine);
    REQUIRE(n > 0 && n < VN_JSON_NUMBER_MAX, "%.17g", x);
    mine[n] = '\0';
    double back;
    REQUIRE(vn_json_parse_double(mine, n, &back), "%s does not parse", mine);
    REQUIRE(double_to_bits(back) == double_to_bits(x), "%.17g -> %s -> %.17g", x, mine, back);
    REQUIRE(double_to_bits(strtod(mine, NULL)) == double_to_bits(x), "%.17g -> %s (strtod)", x, mine);
    int p;
    for (p = 1; p <= 17; p++) {
        snprintf(host, sizeof host, "%.*e", p - 1, x);
        if (strtod(host, NULL) == x) break;
    }
    /* significant digits of both, trailing zeros dropped */
    char a[32] = {0}, b[32] = {0};
    int na = 0, nb = 0;
    bool started = false;
    for (const char *c = mine; *c && *c != 'e'; c++) {
        if (*c >= '1' && *c <= '9') started = true;
        if (started && *c >= '0' && *c <= '9') a[na++] = *c;
    }
    for (const char *c = host; *c && *c != 'e'; c++)
        if (*c >= '0' && *c <= '9') b[nb++] = *c;
    while (na > 1 && a[na - 1] == '0') a[--na] = '\0';
    while (nb > 1 && b[nb - 1] == '0') b[--nb] = '\0';
    REQUIRE(strcmp(a, b) == 0, "%.17g: digits %s, host %s", x, a, b);
}

START_TEST(test_json_write_roundtrip_random) {
    for (int it = 0; it < 40000; it++) {
        double x = bits_to_double(rng_next());
        if (!isfinite(x)) continue;
        check_shortest(x);
    }
    for (int it = 0; it < 20000; it++) {
        double x = (double)(rng_next() >> 11) / 9007199254740992.0 * 1000.0;
        check_shortest(x);
        check_shortest((float)x); /* floats widened to double */
    }
    /* every power of two (the uneven rounding intervals) and its neighbours */
    for (int e = -1074; e <= 1023; e++) {
        double x = ldexp(1.0, e);
        check_shortest(x);
        check_shortest(nextafter(x, 0));
        if (e < 1023) check_shortest(nextafter(x, INFINITY));
    }
    for (int k = -325; k <= 308; k++) {
        char s[32];
        sprintf(s, "1e%d", k);
        double x = strtod(s, NULL);
        if (x != 0 && isfinite(x)) check_shortest(x);
    }
}
END_TEST

START_TEST(test_json_write_compact_and_pretty) {
    for (int pretty = 0; pretty <= 1; pretty++) {
        vn_host_buffer out = {0};
        vn_json_writer w;
        vn_json_writer_init(&w, buffer_write, &out, pretty ? 2 : 0);
        vn_json_begin_object(&w);
        vn_json_key(&w, "a");
        vn_json_integer(&w, 1);
        vn_json_key(&w, "b");
        vn_json_begin_array(&w);
        vn_json_bool(&w, true);
        vn_json_null(&w);
        vn_json_number(&w, 0.5);
        vn_json_end_array(&w);
        vn_json_key(&w, "c");
        vn_json_begin_object(&w);
        vn_json_end_object(&w);
        vn_json_key(&w, "d");
        vn_json_begin_array(&w);
        vn_json_end_array(&w);
        vn_json_key(&w, "e");
        vn_json_begin_object(&w);
        vn_json_key(&w, "f");
        vn_json_integer(&w, INT64_MIN);
        vn_json_key(&w, "g");
        vn_json_unsigned(&w, UINT64_MAX);
        vn_json_end_object(&w);
        vn_json_end_object(&w);
        ck_assert_int_eq(vn_json_writer_finish(&w), VN_OK);
        const char *want = pretty ? "{\n"
                                    "  \"a\": 1,\n"
                                    "  \"b\": [\n"
                                    "    true,\n"
                                    "    null,\n"
                                    "    0.5\n"
                                    "  ],\n"
                                    "  \"c\": {},\n"
                                    "  \"d\": [],\n"
                                    "  \"e\": {\n"
                                    "    \"f\": -9223372036854775808,\n"
                                    "    \"g\": 18446744073709551615\n"
                                    "  }\n"
                                    "}"
                                  : "{\"a\":1,\"b\":[true,null,0.5],\"c\":{},\"d\":[],"
                                    "\"e\":{\"f\":-9223372036854775808,\"g\":18446744073709551615}}";
        ck_assert_str_eq(buffer_text(&out), want);
        ck_assert_uint_eq(w.total, strlen(want));
        vn_host_buffer_free(&out);
    }
}
END_TEST

START_TEST(test_json_write_strings) {
    vn_host_buffer out = {0};
    vn_json_writer w;
    vn_json_writer_init(&w, buffer_write, &out, 0);
    vn_json_begin_array(&w);
    vn_json_string(&w, "q\"b\\s/\b\f\n\r\t\x01\x1f\x7f \xc3\xa9\xf0\x9f\x98\x80");
    vn_json_string_n(&w, "a\0b", 3);
    vn_json_string(&w, "");
    vn_json_end_array(&w);
    ck_assert_int_eq(vn_json_writer_finish(&w), VN_OK);
    ck_assert_str_eq(buffer_text(&out),
                     "[\"q\\\"b\\\\s/\\b\\f\\n\\r\\t\\u0001\\u001f\x7f \xc3\xa9\xf0\x9f\x98\x80\",\"a\\u0000b\",\"\"]");
    /* and it reads back to the same bytes */
    vn_arena arena;
    vn_host_arena(&arena, NULL);
    char err[ERR_SIZE];
    const vn_json_value *v;
    ck_assert_int_eq(vn_json_parse(out.data, out.size, &arena, &v, err, sizeof err), VN_OK);
    ck_assert_str_eq(vn_json_at(v, 0)->string, "q\"b\\s/\b\f\n\r\t\x01\x1f\x7f \xc3\xa9\xf0\x9f\x98\x80");
    ck_assert_uint_eq(vn_json_at(v, 1)->length, 3);
    vn_arena_release(&arena);
    vn_host_buffer_free(&out);
    /* invalid UTF-8 is refused */
    const char *bad[] = {"\xc0\x80", "\xed\xa0\x80", "\xff", "\xe2\x82", "\xf4\x90\x80\x80"};
    for (size_t k = 0; k < 5; k++) {
        vn_host_buffer o2 = {0};
        vn_json_writer_init(&w, buffer_write, &o2, 0);
        ck_assert_int_eq(vn_json_string(&w, bad[k]), VN_EINVAL);
        vn_json_writer_init(&w, buffer_write, &o2, 0);
        vn_json_begin_object(&w);
        ck_assert_int_eq(vn_json_key(&w, bad[k]), VN_EINVAL);
        vn_host_buffer_free(&o2);
    }
}
END_TEST

static int failing_write(void *user, const char *bytes, size_t length) {
    (void)bytes;
    size_t *budget = user;
    if (length > *budget) return -1;
    *budget -= length;
    return 0;
}

START_TEST(test_json_write_misuse) {
    vn_host_buffer out = {0};
    vn_json_writer w;
    /* key at top level */
    vn_json_writer_init(&w, buffer_write, &out, 0);
    ck_assert_int_eq(vn_json_key(&w, "a"), VN_EINVAL);
    /* value without key in an object; the error is sticky */
    vn_json_writer_init(&w, buffer_write, &out, 0);
    vn_json_begin_object(&w);
    ck_assert_int_eq(vn_json_integer(&w, 1), VN_EINVAL);
    ck_assert_int_eq(vn_json_key(&w, "a"), VN_EINVAL);
    ck_assert_int_eq(vn_json_writer_finish(&w), VN_EINVAL);
    /* key in an array */
    vn_json_writer_init(&w, buffer_write, &out, 0);
    vn_json_begin_array(&w);
    ck_assert_int_eq(vn_json_key(&w, "a"), VN_EINVAL);
    /* mismatched end */
    vn_json_writer_init(&w, buffer_write, &out, 0);
    vn_json_begin_object(&w);
    ck_assert_int_eq(vn_json_end_array(&w), VN_EINVAL);
    /* end with a pending key */
    vn_json_writer_init(&w, buffer_write, &out, 0);
    vn_json_begin_object(&w);
    vn_json_key(&w, "a");
    ck_assert_int_eq(vn_json_end_object(&w), VN_EINVAL);
    /* two keys in a row */
    vn_json_writer_init(&w, buffer_write, &out, 0);
    vn_json_begin_object(&w);
    vn_json_key(&w, "a");
    ck_assert_int_eq(vn_json_key(&w, "b"), VN_EINVAL);
    /* end at top level */
    vn_json_writer_init(&w, buffer_write, &out, 0);
    ck_assert_int_eq(vn_json_end_object(&w), VN_EINVAL);
    /* two top-level values */
    vn_json_writer_init(&w, buffer_write, &out, 0);
    ck_assert_int_eq(vn_json_integer(&w, 1), VN_OK);
    ck_assert_int_eq(vn_json_integer(&w, 2), VN_EINVAL);
    /* unfinished or empty */
    vn_json_writer_init(&w, buffer_write, &out, 0);
    vn_json_begin_array(&w);
    ck_assert_int_eq(vn_json_writer_finish(&w), VN_EINVAL);
    vn_json_writer_init(&w, buffer_write, &out, 0);
    ck_assert_int_eq(vn_json_writer_finish(&w), VN_EINVAL);
    /* non-finite numbers */
    vn_json_writer_init(&w, buffer_write, &out, 0);
    ck_assert_int_eq(vn_json_number(&w, NAN), VN_ENAN);
    vn_json_writer_init(&w, buffer_write, &out, 0);
    vn_json_begin_array(&w);
    ck_assert_int_eq(vn_json_number(&w, -INFINITY), VN_ENAN);
    /* depth: 64 levels are fine, 65 are not */
    vn_json_writer_init(&w, buffer_write, &out, 0);
    for (int i = 0; i < VN_JSON_MAX_DEPTH; i++) ck_assert_int_eq(vn_json_begin_array(&w), VN_OK);
    ck_assert_int_eq(vn_json_begin_array(&w), VN_EINVAL);
    /* NULL writer */
    vn_json_writer_init(&w, NULL, NULL, 0);
    ck_assert_int_eq(vn_json_null(&w), VN_EINVAL);
    vn_host_buffer_free(&out);
    /* the callback fails: mid-way (a long string forces flushes) and at the end */
    for (size_t budget0 = 0; budget0 < 1500; budget0 += 300) {
        size_t budget = budget0;
        vn_json_writer_init(&w, failing_write, &budget, 0);
        vn_json_begin_array(&w);
        char longs[1500];
        memset(longs, 'x', sizeof longs - 1);
        longs[sizeof longs - 1] = '\0';
        vn_json_string(&w, longs);
        vn_json_end_array(&w);
        ck_assert_int_eq(vn_json_writer_finish(&w), VN_EIO);
    }
}
END_TEST

/* Writes a parsed value back (integers as integers). */
static void write_value(vn_json_writer *w, const vn_json_value *v) {
    switch (v->type) {
    case VN_JSON_NULL: vn_json_null(w); break;
    case VN_JSON_BOOL: vn_json_bool(w, v->boolean); break;
    case VN_JSON_NUMBER:
        if (v->is_integer) vn_json_integer(w, v->integer);
        else vn_json_number(w, v->number);
        break;
    case VN_JSON_STRING: vn_json_string_n(w, v->string, v->length); break;
    case VN_JSON_ARRAY:
        vn_json_begin_array(w);
        for (size_t i = 0; i < v->length; i++) write_value(w, v->items[i]);
        vn_json_end_array(w);
        break;
    case VN_JSON_OBJECT:
        vn_json_begin_object(w);
        for (size_t i = 0; i < v->length; i++) {
            vn_json_key_n(w, v->members[i].key, v->members[i].key_length);
            write_value(w, v->members[i].value);
        }
        vn_json_end_object(w);
        break;
    }
}

static bool json_equal(const vn_json_value *a, const vn_json_value *b) {
    if (a->type != b->type) return false;
    switch (a->type) {
    case VN_JSON_NULL: return true;
    case VN_JSON_BOOL: return a->boolean == b->boolean;
    case VN_JSON_NUMBER:
        return double_to_bits(a->number) == double_to_bits(b->number) && a->is_integer == b->is_integer &&
               a->integer == b->integer;
    case VN_JSON_STRING: return a->length == b->length && memcmp(a->string, b->string, a->length) == 0;
    case VN_JSON_ARRAY:
        if (a->length != b->length) return false;
        for (size_t i = 0; i < a->length; i++)
            if (!json_equal(a->items[i], b->items[i])) return false;
        return true;
    case VN_JSON_OBJECT:
        if (a->length != b->length) return false;
        for (size_t i = 0; i < a->length; i++) {
            if (a->members[i].key_length != b->members[i].key_length ||
                memcmp(a->members[i].key, b->members[i].key, a->members[i].key_length) != 0 ||
                !json_equal(a->members[i].value, b->members[i].value))
                return false;
        }
        return true;
    }
    return false;
}

START_TEST(test_json_dom_roundtrip) {
    vn_arena arena;
    vn_host_arena(&arena, NULL);
    char err[ERR_SIZE];
    /* canonical compact text reads and writes back byte for byte */
    const char *canonical = "{\"a\":[1,2.5,-0.0,1e-05,\"x\\n\\u0001\xc3\xa9\",-7],\"b\":{\"c\":true,\"d\":null,"
                            "\"e\":false},\"f\":[],\"g\":{},\"h\":[[[]]],\"i\":0.30000000000000004}";
    const vn_json_value *v, *v2;
    ck_assert_int_eq(parse_text(canonical, strlen(canonical), &arena, &v, err), VN_OK);
    vn_host_buffer out = {0};
    vn_json_writer w;
    vn_json_writer_init(&w, buffer_write, &out, 0);
    write_value(&w, v);
    ck_assert_int_eq(vn_json_writer_finish(&w), VN_OK);
    ck_assert_str_eq(buffer_text(&out), canonical);
    vn_host_buffer_free(&out);
    /* random documents through the pretty writer and back */
    for (int it = 0; it < 200; it++) {
        vn_host_buffer doc = {0};
        vn_json_writer_init(&w, buffer_write, &doc, it % 3);
        int depth = 0;
        vn_json_begin_array(&w);
        depth++;
        char key[32];
        int keyn = 0;
        bool in_object[VN_JSON_MAX_DEPTH + 1] = {false};
        for (int step = 0; step < 300; step++) {
            unsigned r = (unsigned)(rng_next() % 10);
            if (in_object[depth]) {
                sprintf(key, "k%d", keyn++);
                vn_json_key(&w, key);
            }
            if (r == 0 && depth < 20) {
                vn_json_begin_array(&w);
                in_object[++depth] = false;
            } else if (r == 1 && depth < 20) {
                vn_json_begin_object(&w);
                in_object[++depth] = true;
            } else if (r == 2) {
                vn_json_number(&w, bits_to_double(rng_next() & 0x7FEFFFFFFFFFFFFFULL));
            } else if (r == 3) {
                vn_json_integer(&w, (int64_t)rng_next());
            } else if (r == 4) {
                char s[8];
                for (int k = 0; k < 7; k++) s[k] = (char)(1 + rng_next() % 126);
                s[7] = '\0';
                vn_json_string(&w, s);
            } else if (r == 5) {
                vn_json_bool(&w, rng_next() & 1);
            } else if (r == 6) {
                vn_json_null(&w);
            } else {
                vn_json_number(&w, -(double)(rng_next() % 1000) / 8.0);
            }
            if (rng_next() % 6 == 0 && depth > 1) {
                if (in_object[depth]) vn_json_end_object(&w);
                else vn_json_end_array(&w);
                depth--;
            }
        }
        while (depth > 0) {
            if (in_object[depth]) vn_json_end_object(&w);
            else vn_json_end_array(&w);
            depth--;
        }
        ck_assert_int_eq(vn_json_writer_finish(&w), VN_OK);
        ck_assert_msg(vn_json_parse(doc.data, doc.size, &arena, &v, err, sizeof err) == VN_OK, "%s", err);
        vn_host_buffer again = {0};
        vn_json_writer_init(&w, buffer_write, &again, 0);
        write_value(&w, v);
        ck_assert_int_eq(vn_json_writer_finish(&w), VN_OK);
        ck_assert_int_eq(vn_json_parse(again.data, again.size, &arena, &v2, err, sizeof err), VN_OK);
        ck_assert(json_equal(v, v2));
        vn_host_buffer_free(&doc);
        vn_host_buffer_free(&again);
    }
    vn_arena_release(&arena);
}
END_TEST

/* ======================================================================== */
/* safetensors: writer and round trips                                      */
/* ======================================================================== */

/* A header plus `data` bytes (0, 1, 2, ...) behind it. */
typedef struct blob {
    unsigned char *data;
    size_t size;
} blob;

static blob make_file(const char *header, size_t data) {
    size_t n = strlen(header);
    blob b;
    b.size = 8 + n + data;
    b.data = malloc(b.size);
    ck_assert_ptr_nonnull(b.data);
    for (int i = 0; i < 8; i++) b.data[i] = (unsigned char)((uint64_t)n >> (8 * i));
    memcpy(b.data + 8, header, n);
    for (size_t i = 0; i < data; i++) b.data[8 + n + i] = (unsigned char)i;
    return b;
}

static void le_store(unsigned char *p, uint64_t v, int bytes) {
    for (int i = 0; i < bytes; i++) p[i] = (unsigned char)(v >> (8 * i));
}

START_TEST(test_st_reference_bytes) {
    /* The byte layouts the reference implementation documents in its own
     * tests: one F32 tensor (no padding needed), an empty file, metadata only. */
    char err[ERR_SIZE];
    float values[6] = {0, 1, 2, 3, 4, 5};
    vn_real data[6];
    for (int i = 0; i < 6; i++) data[i] = (vn_real)values[i];
    size_t shape[3] = {1, 2, 3};
    vn_safetensors_item item = {"attn.0", VN_ST_F32, 3, shape, data, NULL};
    vn_host_buffer out = {0};
    ck_assert_int_eq(vn_safetensors_write(buffer_write, &out, &item, 1, NULL, 0, err, sizeof err), VN_OK);
    const char *header = "{\"attn.0\":{\"dtype\":\"F32\",\"shape\":[1,2,3],\"data_offsets\":[0,24]}}";
    ck_assert_uint_eq(strlen(header), 64);
    ck_assert_uint_eq(out.size, 8 + 64 + 24);
    ck_assert_int_eq(out.data[0], 64);
    for (int i = 1; i < 8; i++) ck_assert_int_eq(out.data[i], 0);
    ck_assert(memcmp(out.data + 8, header, 64) == 0);
    static const unsigned char floats[24] = {0, 0, 0, 0, 0, 0, 128, 63, 0, 0, 0, 64,
                                             0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64};
    ck_assert(memcmp(out.data + 72, floats, 24) == 0);
    vn_host_buffer_free(&out);

    ck_assert_int_eq(vn_safetensors_write(buffer_write, &out, NULL, 0, NULL, 0, err, sizeof err), VN_OK);
    static const unsigned char empty[16] = {8, 0, 0, 0, 0, 0, 0, 0, '{', '}', ' ', ' ', ' ', ' ', ' ', ' '};
    ck_assert_uint_eq(out.size, 16);
    ck_assert(memcmp(out.data, empty, 16) == 0);
    vn_host_buffer_free(&out);

    vn_safetensors_kv kv = {"framework", "pt"};
    ck_assert_int_eq(vn_safetensors_write(buffer_write, &out, NULL, 0, &kv, 1, err, sizeof err), VN_OK);
    const char *meta = "{\"__metadata__\":{\"framework\":\"pt\"}}     ";
    ck_assert_uint_eq(out.size, 8 + 40);
    ck_assert_int_eq(out.data[0], 40);
    ck_assert(memcmp(out.data + 8, meta, 40) == 0);
    vn_host_buffer_free(&out);
}
END_TEST

/* A small valid file with every writable dtype, metadata and padding. */
static vn_host_buffer sample_file(void) {
    static vn_real a[6], c[8];
    static int64_t labels[5] = {0, 1, -1, INT64_MAX, INT64_MIN};
    static vn_real scalar[1] = {(vn_real)-0.25};
    for (int i = 0; i < 6; i++) a[i] = (vn_real)(i - 2.5);
    for (int i = 0; i < 8; i++) c[i] = (vn_real)(i * 0.125);
    static const size_t sa[2] = {2, 3}, sc[4] = {2, 1, 2, 2}, sl[1] = {5}, sz[2] = {0, 3};
    vn_safetensors_item items[5] = {
        {"weights.a", VN_ST_F32, 2, sa, a, NULL},
        {"c", VN_ST_F64, 4, sc, c, NULL},
        {"labels", VN_ST_I64, 1, sl, NULL, labels},
        {"scalar", VN_ST_F32, 0, NULL, scalar, NULL},
        {"empty", VN_ST_F64, 2, sz, NULL, NULL},
    };
    vn_safetensors_kv meta[2] = {{"format", "pt"}, {"note", "caf\xc3\xa9 \"quoted\"\n"}};
    vn_host_buffer out = {0};
    char err[ERR_SIZE];
    ck_assert_msg(vn_safetensors_write(buffer_write, &out, items, 5, meta, 2, err, sizeof err) == VN_OK, "%s", err);
    size_t size = 0;
    ck_assert_int_eq(vn_safetensors_file_size(items, 5, meta, 2, &size, err, sizeof err), VN_OK);
    ck_assert_uint_eq(size, out.size);
    return out;
}

START_TEST(test_st_roundtrip) {
    vn_host_buffer file = sample_file();
    char err[ERR_SIZE];
    /* header: a multiple of 8, padded with spaces after valid JSON */
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = (n << 8) | file.data[i];
    ck_assert_uint_eq(n % 8, 0);
    size_t json_end = 8 + (size_t)n;
    while (file.data[json_end - 1] == ' ') json_end--;
    ck_assert_int_eq(file.data[json_end - 1], '}');
    ck_assert_uint_lt(8 + n - json_end, 8);

    vn_arena arena;
    vn_host_arena(&arena, NULL);
    vn_safetensors st;
    unsigned char *copy = exact_copy(file.data, file.size);
    ck_assert_msg(vn_safetensors_open(&st, copy, file.size, &arena, err, sizeof err) == VN_OK, "%s", err);
    ck_assert_uint_eq(st.count, 5);
    ck_assert_uint_eq(st.header_length, n);
    const char *order[5] = {"weights.a", "c", "labels", "scalar", "empty"};
    size_t offset = 0;
    for (int i = 0; i < 5; i++) {
        ck_assert_str_eq(st.entries[i].name, order[i]);
        ck_assert_uint_eq(st.entries[i].begin, offset);
        offset = st.entries[i].end;
        ck_assert_ptr_eq(vn_safetensors_find(&st, order[i]), &st.entries[i]);
    }
    ck_assert_uint_eq(offset, file.size - 8 - n);
    ck_assert_ptr_null(vn_safetensors_find(&st, "missing"));
    ck_assert_str_eq(vn_safetensors_metadata_get(&st, "format"), "pt");
    ck_assert_str_eq(vn_safetensors_metadata_get(&st, "note"), "caf\xc3\xa9 \"quoted\"\n");
    ck_assert_ptr_null(vn_safetensors_metadata_get(&st, "nope"));
    ck_assert_uint_eq(st.metadata_count, 2);

    vn_tensor t;
    ck_assert_int_eq(vn_safetensors_tensor(&st, "weights.a", &arena, &t, err, sizeof err), VN_OK);
    ck_assert_int_eq(t.ndim, 2);
    ck_assert_uint_eq(t.shape[0], 2);
    ck_assert_uint_eq(t.shape[1], 3);
    for (int i = 0; i < 6; i++) ck_assert(t.data[i] == (vn_real)(i - 2.5));
    ck_assert_int_eq(vn_safetensors_entry_tensor(vn_safetensors_find(&st, "c"), &arena, &t, err, sizeof err), VN_OK);
    ck_assert_int_eq(t.ndim, 4);
    ck_assert_int_eq(vn_safetensors_find(&st, "c")->dtype, VN_ST_F64);
    for (int i = 0; i < 8; i++) ck_assert(t.data[i] == (vn_real)(i * 0.125));
    ck_assert_int_eq(vn_safetensors_tensor(&st, "scalar", &arena, &t, err, sizeof err), VN_OK);
    ck_assert_int_eq(t.ndim, 0);
    ck_assert_uint_eq(t.numel, 1);
    ck_assert(t.data[0] == (vn_real)-0.25);
    ck_assert_int_eq(vn_safetensors_tensor(&st, "empty", &arena, &t, err, sizeof err), VN_OK);
    ck_assert_uint_eq(t.numel, 0);
    ck_assert_uint_eq(t.shape[0], 0);
    ck_assert_uint_eq(t.shape[1], 3);
    int64_t *labels;
    size_t count;
    const vn_safetensors_entry *le;
    ck_assert_int_eq(vn_safetensors_int64(&st, "labels", &arena, &labels, &count, &le, err, sizeof err), VN_OK);
    ck_assert_uint_eq(count, 5);
    ck_assert_int_eq(le->dtype, VN_ST_I64);
    ck_assert(labels[0] == 0 && labels[1] == 1 && labels[2] == -1 && labels[3] == INT64_MAX &&
              labels[4] == INT64_MIN);
    /* the data bytes are little-endian IEEE */
    const vn_safetensors_entry *wa = vn_safetensors_find(&st, "weights.a");
    float f = (float)(0 - 2.5);
    uint32_t fb;
    memcpy(&fb, &f, 4);
    for (int k = 0; k < 4; k++) ck_assert_int_eq(wa->data[k], (fb >> (8 * k)) & 0xFF);
    free(copy);
    vn_arena_release(&arena);
    vn_host_buffer_free(&file);
}
END_TEST

START_TEST(test_st_roundtrip_random) {
    /* F32 of float-representable values and F64 of any vn_real are exact. */
    char err[ERR_SIZE];
    vn_arena arena;
    vn_host_arena(&arena, NULL);
    for (int it = 0; it < 50; it++) {
        int count = 1 + (int)(rng_next() % 6);
        vn_safetensors_item items[6];
        size_t shapes[6][4];
        vn_real *data[6];
        char names[6][16];
        for (int k = 0; k < count; k++) {
            int ndim = (int)(rng_next() % 5);
            size_t numel = 1;
            for (int d = 0; d < ndim; d++) {
                shapes[k][d] = rng_next() % 4;
                numel *= shapes[k][d];
            }
            data[k] = malloc((numel ? numel : 1) * sizeof(vn_real));
            for (size_t j = 0; j < numel; j++) {
                float x = (float)((double)(int64_t)rng_next() / 9.2e18 * 1000.0);
                data[k][j] = (vn_real)x;
            }
            sprintf(names[k], "t%d.%d", it, k);
            items[k] = (vn_safetensors_item){names[k], rng_next() & 1 ? VN_ST_F32 : VN_ST_F64, ndim, shapes[k],
                                             data[k], NULL};
        }
        vn_host_buffer out = {0};
        ck_assert_int_eq(vn_safetensors_write(buffer_write, &out, items, (size_t)count, NULL, 0, err, sizeof err), VN_OK);
        vn_safetensors st;
        vn_arena_mark mark = vn_arena_get_mark(&arena);
        ck_assert_msg(vn_safetensors_open(&st, out.data, out.size, &arena, err, sizeof err) == VN_OK, "%s", err);
        ck_assert_uint_eq(st.count, (size_t)count);
        for (int k = 0; k < count; k++) {
            vn_tensor t;
            ck_assert_int_eq(vn_safetensors_tensor(&st, names[k], &arena, &t, err, sizeof err), VN_OK);
            ck_assert_int_eq(t.ndim, items[k].ndim);
            for (int d = 0; d < t.ndim; d++) ck_assert_uint_eq(t.shape[d], shapes[k][d]);
            for (size_t j = 0; j < t.numel; j++) REQUIRE(t.data[j] == data[k][j], "%s[%zu]", names[k], j);
            free(data[k]);
        }
        vn_arena_rewind(&arena, mark);
        vn_host_buffer_free(&out);
    }
    vn_arena_release(&arena);
}
END_TEST

START_TEST(test_st_write_errors) {
    char err[ERR_SIZE];
    vn_real x[4] = {1, 2, 3, 4};
    int64_t i[2] = {1, 2};
    size_t s2[1] = {2}, s4[1] = {4};
    vn_host_buffer out = {0};
    vn_safetensors_item dup[2] = {{"w", VN_ST_F32, 1, s4, x, NULL}, {"w", VN_ST_F64, 1, s2, x, NULL}};
    ck_assert_int_eq(vn_safetensors_write(buffer_write, &out, dup, 2, NULL, 0, err, sizeof err), VN_EINVAL);
    ck_assert_msg(strstr(err, "duplicate tensor name \"w\"") != NULL, "%s", err);
    vn_safetensors_item meta_name = {"__metadata__", VN_ST_F32, 1, s4, x, NULL};
    ck_assert_int_eq(vn_safetensors_write(buffer_write, &out, &meta_name, 1, NULL, 0, err, sizeof err), VN_EINVAL);
    vn_safetensors_item f16 = {"h", VN_ST_F16, 1, s4, x, NULL};
    ck_assert_int_eq(vn_safetensors_write(buffer_write, &out, &f16, 1, NULL, 0, err, sizeof err), VN_EINVAL);
    ck_assert_msg(strstr(err, "F16") != NULL, "%s", err);
    vn_safetensors_item nodata = {"n", VN_ST_I64, 1, s2, x, NULL}; /* I64 wants int_data */
    ck_assert_int_eq(vn_safetensors_write(buffer_write, &out, &nodata, 1, NULL, 0, err, sizeof err), VN_EINVAL);
    ck_assert_msg(strstr(err, "no int64 data") != NULL, "%s", err);
    vn_safetensors_item badname = {"\xff", VN_ST_I64, 1, s2, NULL, i};
    ck_assert_int_eq(vn_safetensors_write(buffer_write, &out, &badname, 1, NULL, 0, err, sizeof err), VN_EINVAL);
    vn_safetensors_item noname = {NULL, VN_ST_I64, 1, s2, NULL, i};
    ck_assert_int_eq(vn_safetensors_write(buffer_write, &out, &noname, 1, NULL, 0, err, sizeof err), VN_EINVAL);
    vn_safetensors_item negdim = {"n", VN_ST_I64, -1, s2, NULL, i};
    ck_assert_int_eq(vn_safetensors_write(buffer_write, &out, &negdim, 1, NULL, 0, err, sizeof err), VN_EINVAL);
    size_t huge[3] = {(size_t)1 << 40, (size_t)1 << 40, 4};
    vn_safetensors_item over = {"o", VN_ST_F64, 3, huge, x, NULL};
    ck_assert_int_eq(vn_safetensors_write(buffer_write, &out, &over, 1, NULL, 0, err, sizeof err), VN_EOVERFLOW);
    vn_safetensors_kv dupmeta[2] = {{"k", "a"}, {"k", "b"}};
    vn_safetensors_item ok = {"ok", VN_ST_I64, 1, s2, NULL, i};
    ck_assert_int_eq(vn_safetensors_write(buffer_write, &out, &ok, 1, dupmeta, 2, err, sizeof err), VN_EINVAL);
    ck_assert_msg(strstr(err, "duplicate metadata key \"k\"") != NULL, "%s", err);
    vn_safetensors_kv badmeta = {"k", "\xc0\x80"};
    ck_assert_int_eq(vn_safetensors_write(buffer_write, &out, &ok, 1, &badmeta, 1, err, sizeof err), VN_EINVAL);
    ck_assert_int_eq(vn_safetensors_write(NULL, NULL, &ok, 1, NULL, 0, err, sizeof err), VN_EINVAL);
    ck_assert_uint_eq(out.size, 0); /* nothing was written by failed calls */
    /* the writer callback fails at every point of the file */
    vn_safetensors_item big = {"big", VN_ST_F64, 1, s4, x, NULL};
    size_t total;
    ck_assert_int_eq(vn_safetensors_file_size(&big, 1, NULL, 0, &total, err, sizeof err), VN_OK);
    for (size_t budget0 = 0; budget0 < total; budget0++) {
        size_t budget = budget0;
        ck_assert_int_eq(vn_safetensors_write(failing_write, &budget, &big, 1, NULL, 0, err, sizeof err), VN_EIO);
    }
    size_t budget = total;
    ck_assert_int_eq(vn_safetensors_write(failing_write, &budget, &big, 1, NULL, 0, err, sizeof err), VN_OK);
    ck_assert_uint_eq(budget, 0);
    /* item helpers */
    vn_tensor t;
    size_t sh[2] = {2, 2};
    ck_assert_int_eq(vn_tensor_wrap(&t, x, 2, sh), VN_OK);
    vn_safetensors_item items[2] = {vn_safetensors_item_real("t", &t, VN_ST_F64),
                                    vn_safetensors_item_int64("i", i, 1, s2)};
    ck_assert_int_eq(vn_safetensors_write(buffer_write, &out, items, 2, NULL, 0, err, sizeof err), VN_OK);
    vn_host_buffer_free(&out);
}
END_TEST

/* ======================================================================== */
/* safetensors: malformed input                                             */
/* ======================================================================== */

#define T1(off, shape, dtype) "{\"a\":{\"dtype\":\"" dtype "\",\"shape\":" shape ",\"data_offsets\":" off "}}"

static const struct bad_st {
    const char *header;
    size_t data;
    vn_status status;
    const char *needle;
} bad_st[] = {
    /* JSON and header framing */
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}", 4, VN_EFORMAT, "expected ',' or '}'"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},}", 4, VN_EFORMAT, "trailing comma"},
    {"[]", 0, VN_EFORMAT, "the header must be a JSON object, found array"},
    {"\"{}\"", 0, VN_EFORMAT, "the header must be a JSON object, found string"},
    {"", 0, VN_EFORMAT, "expected a value, found end of input"},
    {"   ", 0, VN_EFORMAT, "expected a value, found end of input"},
    {"{} x", 0, VN_EFORMAT, "expected end of input"},
    {"{}{}", 0, VN_EFORMAT, "expected end of input"},
    {"{\"a\xff\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, VN_EFORMAT, "UTF-8"},
    {"{\"__metadata__\":{\"k\":\"\xc0\xaf\"}}", 0, VN_EFORMAT, "overlong"},
    {"{\"__metadata__\":{\"k\":\"\xed\xa0\x80\"}}", 0, VN_EFORMAT, "surrogate"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
     "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
     8, VN_EFORMAT, "duplicate key \"a\""},
    {"{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, VN_EFORMAT, "duplicate key \"dtype\""},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[00,4]}}", 4, VN_EFORMAT, "leading zeros"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[NaN],\"data_offsets\":[0,4]}}", 4, VN_EFORMAT, "expected a value"},
    /* dtype */
    {T1("[0,4]", "[1]", "F128"), 4, VN_EFORMAT, "unknown dtype \"F128\""},
    {T1("[0,4]", "[1]", "f32"), 4, VN_EFORMAT, "unknown dtype \"f32\""},
    {T1("[0,4]", "[1]", ""), 4, VN_EFORMAT, "unknown dtype \"\""},
    {"{\"a\":{\"dtype\":32,\"shape\":[1],\"data_offsets\":[0,4]}}", 4, VN_EFORMAT, "dtype must be a string"},
    {"{\"a\":{\"dtype\":null,\"shape\":[1],\"data_offsets\":[0,4]}}", 4, VN_EFORMAT, "dtype must be a string"},
    /* shape */
    {T1("[0,4]", "\"1\"", "F32"), 4, VN_EFORMAT, "shape must be an array"},
    {T1("[0,4]", "{}", "F32"), 4, VN_EFORMAT, "shape must be an array"},
    {T1("[0,4]", "[\"1\"]", "F32"), 4, VN_EFORMAT, "shape[0] must be a non-negative integer, found string"},
    {T1("[0,4]", "[null]", "F32"), 4, VN_EFORMAT, "shape[0] must be a non-negative integer, found null"},
    {T1("[0,4]", "[1,[1]]", "F32"), 4, VN_EFORMAT, "shape[1] must be a non-negative integer, found array"},
    {T1("[0,4]", "[-1]", "F32"), 4, VN_EFORMAT, "found a negative number"},
    {T1("[0,0]", "[-0]", "F32"), 0, VN_EFORMAT, "found a negative number"},
    {T1("[-0,4]", "[1]", "F32"), 4, VN_EFORMAT, "data_offsets[0] must be a non-negative integer, found a negative"},
    {T1("[0,4]", "[1.5]", "F32"), 4, VN_EFORMAT, "found a number with a fraction or exponent"},
    {T1("[0,4]", "[1.0]", "F32"), 4, VN_EFORMAT, "found a number with a fraction or exponent"},
    {T1("[0,4]", "[1e0]", "F32"), 4, VN_EFORMAT, "found a number with a fraction or exponent"},
    {T1("[0,4]", "[-99999999999999999999]", "F32"), 4, VN_EFORMAT, "negative"},
    {T1("[0,4]", "[4294967296,4294967296,2]", "F32"), 4, VN_EOVERFLOW, "overflows"},
    {T1("[0,4]", "[4611686018427387904,5]", "U8"), 4, VN_EOVERFLOW, "overflows"},
    {T1("[0,4]", "[2305843009213693952]", "F64"), 4, VN_EOVERFLOW, "overflows"},
    {T1("[0,4]", "[2305843009213693952]", "U8"), 4, VN_EOVERFLOW, "overflows"}, /* in bits, as the reference */
    {T1("[0,1]", "[3]", "F4"), 1, VN_EFORMAT, "3 elements of F4 do not fill whole bytes"},
    {T1("[0,1]", "[1]", "F6_E2M3"), 1, VN_EFORMAT, "do not fill whole bytes"},
    {T1("[0,2]", "[2]", "F4"), 2, VN_EFORMAT, "needs 1 bytes"},
    {T1("[0,4]", "[100000000000000000000]", "F32"), 4, VN_EOVERFLOW, "too large"},
    {T1("[0,8]", "[3]", "F32"), 8, VN_EFORMAT, "span 8 bytes, but shape [3] of F32 needs 12 bytes"},
    {T1("[0,4]", "[]", "F64"), 4, VN_EFORMAT, "needs 8 bytes"},
    {T1("[0,4]", "[0]", "F32"), 4, VN_EFORMAT, "needs 0 bytes"},
    /* data_offsets */
    {T1("\"0,4\"", "[1]", "F32"), 4, VN_EFORMAT, "data_offsets must be an array [begin, end]"},
    {T1("[0]", "[1]", "F32"), 4, VN_EFORMAT, "found an array of length 1"},
    {T1("[]", "[1]", "F32"), 4, VN_EFORMAT, "found an array of length 0"},
    {T1("[0,4,8]", "[1]", "F32"), 4, VN_EFORMAT, "found an array of length > 2"},
    {T1("[0.0,4]", "[1]", "F32"), 4, VN_EFORMAT, "data_offsets[0] must be a non-negative integer"},
    {T1("[\"0\",4]", "[1]", "F32"), 4, VN_EFORMAT, "data_offsets[0] must be a non-negative integer, found string"},
    {T1("[0,true]", "[1]", "F32"), 4, VN_EFORMAT, "data_offsets[1] must be a non-negative integer, found boolean"},
    {T1("[-4,0]", "[1]", "F32"), 4, VN_EFORMAT, "negative"},
    {T1("[0,18446744073709551616]", "[1]", "F32"), 4, VN_EOVERFLOW, "too large"},
    {T1("[0,18446744073709551615]", "[1]", "F32"), 4, VN_EFORMAT, "span 18446744073709551615 bytes"},
    {T1("[0,4]", "[9223372036854775809]", "F32"), 4, VN_EOVERFLOW, "overflows"},
    {T1("[8,4]", "[1]", "F32"), 8, VN_EFORMAT, "end before they begin"},
    /* layout of the data section */
    {T1("[4,8]", "[1]", "F32"), 8, VN_EFORMAT, "must begin at offset 0"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
     "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
     12, VN_EFORMAT, "tensor \"b\": data_offsets [4, 12] overlap tensor \"a\" at [0, 8]"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
     "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
     8, VN_EFORMAT, "overlap"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
     "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
     12, VN_EFORMAT, "tensor \"b\": data_offsets [8, 12] leave a gap after tensor \"a\", which ends at 4"},
    {T1("[0,8]", "[2]", "F32"), 4, VN_EFORMAT, "the file is truncated"},
    {T1("[0,8]", "[2]", "F32"), 12, VN_EFORMAT, "extra bytes at the end"},
    {T1("[0,8]", "[2]", "F32"), 0, VN_EFORMAT, "the file is truncated"},
    {"{}", 4, VN_EFORMAT, "no tensors but 4 bytes"},
    {"{\"__metadata__\":{}}", 1, VN_EFORMAT, "no tensors"},
    /* structure of an entry */
    {"{\"a\":[1]}", 0, VN_EFORMAT, "tensor \"a\": expected an object"},
    {"{\"a\":\"F32\"}", 0, VN_EFORMAT, "tensor \"a\": expected an object"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, VN_EFORMAT, "tensor \"a\": missing \"data_offsets\""},
    {"{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, VN_EFORMAT, "missing \"dtype\""},
    {"{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4, VN_EFORMAT, "missing \"shape\""},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"offsets\":[0,4]}}", 4, VN_EFORMAT,
     "unexpected key \"offsets\""},
    {"{\"a\\nb\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4, VN_EFORMAT, "tensor \"a\\x0ab\""},
    /* metadata */
    {"{\"__metadata__\":{\"k\":1}}", 0, VN_EFORMAT, "__metadata__ value for key \"k\" must be a string, found number"},
    {"{\"__metadata__\":{\"k\":{\"x\":\"y\"}}}", 0, VN_EFORMAT, "found object"},
    {"{\"__metadata__\":{\"k\":null}}", 0, VN_EFORMAT, "found null"},
    {"{\"__metadata__\":{\"k\":[\"a\"]}}", 0, VN_EFORMAT, "found array"},
    {"{\"__metadata__\":{\"k\":true}}", 0, VN_EFORMAT, "found boolean"},
    {"{\"__metadata__\":\"x\"}", 0, VN_EFORMAT, "__metadata__ must be an object"},
    {"{\"__metadata__\":null}", 0, VN_EFORMAT, "__metadata__ must be an object"},
    {"{\"__metadata__\":{\"k\":\"a\",\"k\":\"b\"}}", 0, VN_EFORMAT, "duplicate key \"k\""},
};

START_TEST(test_st_malformed) {
    const struct bad_st *c = &bad_st[_i];
    blob b = make_file(c->header, c->data);
    vn_arena arena;
    vn_host_arena(&arena, NULL);
    vn_safetensors st;
    char err[ERR_SIZE];
    vn_status status = vn_safetensors_open(&st, b.data, b.size, &arena, err, sizeof err);
    ck_assert_msg(status == c->status, "case %d (%s): status %d (%s), want %d", _i, c->header, status, err, c->status);
    ck_assert_msg(strstr(err, c->needle) != NULL, "case %d: message \"%s\" lacks \"%s\"", _i, err, c->needle);
    ck_assert_msg(strncmp(err, "safetensors: ", 13) == 0, "%s", err);
    ck_assert_uint_eq(st.count, 0);
    ck_assert_uint_eq(arena.in_use, 0); /* rewound */
    free(b.data);
    vn_arena_release(&arena);
}
END_TEST

/* Headers the reference accepts. */
START_TEST(test_st_valid_variants) {
    vn_arena arena;
    vn_host_arena(&arena, NULL);
    vn_safetensors st;
    char err[ERR_SIZE];
    blob b = make_file("{}", 0);
    ck_assert_int_eq(vn_safetensors_open(&st, b.data, b.size, &arena, err, sizeof err), VN_OK);
    ck_assert_uint_eq(st.count, 0);
    free(b.data);
    /* any JSON whitespace around the object */
    b = make_file(" \n{\"__metadata__\":{}} \n\t\r  ", 0);
    ck_assert_int_eq(vn_safetensors_open(&st, b.data, b.size, &arena, err, sizeof err), VN_OK);
    ck_assert_uint_eq(st.metadata_count, 0);
    free(b.data);
    /* out of order in the header, zero-size tensors sharing offsets, a scalar,
     * a 5-d tensor, an escaped name */
    b = make_file("{\"s\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[4,8]},"
                  "\"z1\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]},"
                  "\"b\":{\"dtype\":\"U8\",\"shape\":[1,1,1,1,2],\"data_offsets\":[8,10]},"
                  "\"z2\":{\"dtype\":\"I64\",\"shape\":[18446744073709551615,0],\"data_offsets\":[0,0]},"
                  "\"caf\\u00e9\":{\"dtype\":\"I16\",\"shape\":[2],\"data_offsets\":[0,4]}}",
                  10);
    ck_assert_msg(vn_safetensors_open(&st, b.data, b.size, &arena, err, sizeof err) == VN_OK, "%s", err);
    ck_assert_uint_eq(st.count, 5);
    /* sorted by (begin, end), header order among equals */
    const char *order[5] = {"z1", "z2", "caf\xc3\xa9", "s", "b"};
    for (int i = 0; i < 5; i++) ck_assert_str_eq(st.entries[i].name, order[i]);
    const vn_safetensors_entry *e = vn_safetensors_find(&st, "caf\xc3\xa9");
    ck_assert_ptr_nonnull(e);
    int64_t v[2];
    ck_assert_int_eq(vn_safetensors_read_int64(e, v, 2, err, sizeof err), VN_OK);
    ck_assert(v[0] == 0x0100 && v[1] == 0x0302);
    /* a 5-d tensor opens but does not become a vn_tensor */
    e = vn_safetensors_find(&st, "b");
    ck_assert_int_eq(e->ndim, 5);
    ck_assert_int_eq(vn_safetensors_read_int64(e, v, 2, err, sizeof err), VN_OK);
    ck_assert(v[0] == 8 && v[1] == 9);
    vn_tensor t;
    free(b.data);
    b = make_file("{\"five\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1],\"data_offsets\":[0,4]}}", 4);
    ck_assert_int_eq(vn_safetensors_open(&st, b.data, b.size, &arena, err, sizeof err), VN_OK);
    ck_assert_int_eq(vn_safetensors_tensor(&st, "five", &arena, &t, err, sizeof err), VN_ESHAPE);
    ck_assert_msg(strstr(err, "\"five\" has 5 dimensions") != NULL, "%s", err);
    vn_real r[1];
    ck_assert_int_eq(vn_safetensors_read_real(vn_safetensors_find(&st, "five"), r, 1, err, sizeof err), VN_OK);
    free(b.data);
    /* the newer dtypes, sub-byte ones filling whole bytes */
    b = make_file("{\"f4\":{\"dtype\":\"F4\",\"shape\":[2,3],\"data_offsets\":[0,3]},"
                  "\"f6\":{\"dtype\":\"F6_E3M2\",\"shape\":[4],\"data_offsets\":[3,6]},"
                  "\"e8\":{\"dtype\":\"F8_E8M0\",\"shape\":[2],\"data_offsets\":[6,8]}}",
                  8);
    ck_assert_msg(vn_safetensors_open(&st, b.data, b.size, &arena, err, sizeof err) == VN_OK, "%s", err);
    ck_assert_uint_eq(vn_safetensors_find(&st, "f4")->size, 3);
    ck_assert_int_eq(vn_safetensors_find(&st, "f6")->dtype, VN_ST_F6_E3M2);
    ck_assert_uint_eq(vn_safetensors_dtype_bits(VN_ST_F6_E3M2), 6);
    ck_assert_uint_eq(vn_safetensors_dtype_size(VN_ST_F4), 0);
    ck_assert_uint_eq(vn_safetensors_dtype_size(VN_ST_BF16), 2);
    ck_assert_int_eq(vn_safetensors_tensor(&st, "f4", &arena, &t, err, sizeof err), VN_EFORMAT);
    ck_assert_msg(strstr(err, "\"f4\" has dtype F4") != NULL, "%s", err);
    int64_t iv[6];
    ck_assert_int_eq(vn_safetensors_read_int64(vn_safetensors_find(&st, "e8"), iv, 2, err, sizeof err), VN_EFORMAT);
    ck_assert_msg(strstr(err, "\"e8\" has dtype F8_E8M0") != NULL, "%s", err);
    vn_safetensors_dtype dt;
    ck_assert(vn_safetensors_dtype_from_name("F8_E8M0", &dt) && dt == VN_ST_F8_E8M0);
    ck_assert(!vn_safetensors_dtype_from_name("F8", &dt));
    ck_assert_str_eq(vn_safetensors_dtype_name(VN_ST_BF16), "BF16");
    ck_assert_str_eq(vn_safetensors_dtype_name((vn_safetensors_dtype)99), "?");
    free(b.data);
    vn_arena_release(&arena);
}
END_TEST

START_TEST(test_st_conversion_errors) {
    vn_arena arena;
    vn_host_arena(&arena, NULL);
    vn_safetensors st;
    char err[ERR_SIZE];
    blob b = make_file("{\"half\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]},"
                       "\"bf\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[4,8]},"
                       "\"f8\":{\"dtype\":\"F8_E4M3\",\"shape\":[2],\"data_offsets\":[8,10]},"
                       "\"flag\":{\"dtype\":\"BOOL\",\"shape\":[2],\"data_offsets\":[10,12]},"
                       "\"i8\":{\"dtype\":\"I8\",\"shape\":[2],\"data_offsets\":[12,14]},"
                       "\"big\":{\"dtype\":\"U64\",\"shape\":[1],\"data_offsets\":[16,24]},"
                       "\"i32\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[24,32]},"
                       "\"f32\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[32,40]},"
                       "\"u16\":{\"dtype\":\"U16\",\"shape\":[1],\"data_offsets\":[14,16]}}",
                       40);
    le_store(b.data + b.size - 40 + 10, 0x0201, 2); /* BOOL bytes 1, 2 */
    le_store(b.data + b.size - 40 + 12, 0x80FF, 2); /* I8 -1, -128 */
    le_store(b.data + b.size - 40 + 16, UINT64_MAX, 8);
    le_store(b.data + b.size - 40 + 24, 0xFFFFFFFE, 4);
    le_store(b.data + b.size - 40 + 28, 7, 4);
    ck_assert_msg(vn_safetensors_open(&st, b.data, b.size, &arena, err, sizeof err) == VN_OK, "%s", err);
    vn_real r[2];
    int64_t v[2];
    vn_tensor t;
    const char *reals[] = {"half", "bf", "f8", "flag", "i32"};
    const char *dtypes[] = {"F16", "BF16", "F8_E4M3", "BOOL", "I32"};
    for (int k = 0; k < 5; k++) {
        char want[64];
        snprintf(want, sizeof want, "tensor \"%s\" has dtype %s", reals[k], dtypes[k]);
        ck_assert_int_eq(vn_safetensors_read_real(vn_safetensors_find(&st, reals[k]), r, 2, err, sizeof err), VN_EFORMAT);
        ck_assert_msg(strstr(err, want) != NULL, "%s", err);
        ck_assert_int_eq(vn_safetensors_tensor(&st, reals[k], &arena, &t, err, sizeof err), VN_EFORMAT);
        ck_assert_msg(strstr(err, want) != NULL, "%s", err);
    }
    const char *ints[] = {"half", "bf", "f8", "f32"};
    for (int k = 0; k < 4; k++) {
        ck_assert_int_eq(vn_safetensors_read_int64(vn_safetensors_find(&st, ints[k]), v, 2, err, sizeof err), VN_EFORMAT);
        ck_assert_msg(strstr(err, ints[k]) != NULL && strstr(err, "can be read as integers") != NULL, "%s", err);
    }
    ck_assert_int_eq(vn_safetensors_read_int64(vn_safetensors_find(&st, "flag"), v, 2, err, sizeof err), VN_EFORMAT);
    ck_assert_msg(strstr(err, "\"flag\" (BOOL) holds byte 2 at element 1") != NULL, "%s", err);
    ck_assert_int_eq(vn_safetensors_read_int64(vn_safetensors_find(&st, "i8"), v, 2, err, sizeof err), VN_OK);
    ck_assert(v[0] == -1 && v[1] == -128);
    ck_assert_int_eq(vn_safetensors_read_int64(vn_safetensors_find(&st, "i32"), v, 2, err, sizeof err), VN_OK);
    ck_assert(v[0] == -2 && v[1] == 7);
    ck_assert_int_eq(vn_safetensors_read_int64(vn_safetensors_find(&st, "big"), v, 1, err, sizeof err), VN_ERANGE);
    ck_assert_msg(strstr(err, "\"big\" (U64)") != NULL, "%s", err);
    ck_assert_int_eq(vn_safetensors_read_int64(vn_safetensors_find(&st, "u16"), v, 1, err, sizeof err), VN_OK);
    ck_assert_int_eq(v[0], 0x0F0E);
    /* wrong destination size, missing names */
    ck_assert_int_eq(vn_safetensors_read_real(vn_safetensors_find(&st, "f32"), r, 1, err, sizeof err), VN_ESHAPE);
    ck_assert_int_eq(vn_safetensors_tensor(&st, "nope", &arena, &t, err, sizeof err), VN_EINVAL);
    ck_assert_msg(strstr(err, "no tensor named \"nope\"") != NULL, "%s", err);
    int64_t *p;
    size_t count;
    ck_assert_int_eq(vn_safetensors_int64(&st, "nope", &arena, &p, &count, NULL, err, sizeof err), VN_EINVAL);
    ck_assert_int_eq(vn_safetensors_int64(&st, "f32", &arena, &p, &count, NULL, err, sizeof err), VN_EFORMAT);
    ck_assert_int_eq(vn_safetensors_read_real(NULL, r, 1, err, sizeof err), VN_EINVAL);
    free(b.data);
    vn_arena_release(&arena);
}
END_TEST

START_TEST(test_st_header_length) {
    vn_arena arena;
    vn_host_arena(&arena, NULL);
    vn_safetensors st;
    char err[ERR_SIZE];
    unsigned char b[64];
    memset(b, ' ', sizeof b);
    /* shorter than the length field */
    for (size_t n = 0; n < 8; n++) {
        unsigned char *copy = exact_copy(b, n);
        ck_assert_int_eq(vn_safetensors_open(&st, copy, n, &arena, err, sizeof err), VN_EFORMAT);
        ck_assert_msg(strstr(err, "too short for the 8-byte header length") != NULL, "%s", err);
        free(copy);
    }
    ck_assert_int_eq(vn_safetensors_open(&st, NULL, 0, &arena, err, sizeof err), VN_EFORMAT);
    /* the header length beyond the file, at the limit, beyond the limit */
    const uint64_t lengths[] = {57, 1000, 100000000ULL, 100000001ULL, 1ULL << 32, UINT64_MAX};
    const char *needles[] = {"larger than the 56 bytes", "larger than", "larger than", "exceeds the limit",
                             "exceeds the limit", "exceeds the limit"};
    for (int k = 0; k < 6; k++) {
        le_store(b, lengths[k], 8);
        b[8] = '{';
        b[9] = '}';
        unsigned char *copy = exact_copy(b, sizeof b);
        ck_assert_int_eq(vn_safetensors_open(&st, copy, sizeof b, &arena, err, sizeof err), VN_EFORMAT);
        ck_assert_msg(strstr(err, needles[k]) != NULL, "%llu: %s", (unsigned long long)lengths[k], err);
        free(copy);
    }
    /* NULL arguments */
    ck_assert_int_eq(vn_safetensors_open(NULL, b, sizeof b, &arena, err, sizeof err), VN_EINVAL);
    ck_assert_int_eq(vn_safetensors_open(&st, b, sizeof b, NULL, err, sizeof err), VN_EINVAL);
    vn_arena_release(&arena);
}
END_TEST

START_TEST(test_st_truncated_everywhere) {
    vn_host_buffer file = sample_file();
    vn_arena arena;
    vn_host_arena(&arena, NULL);
    vn_safetensors st;
    char err[ERR_SIZE];
    for (size_t n = 0; n < file.size; n++) {
        unsigned char *copy = exact_copy(file.data, n);
        err[0] = '\0';
        vn_status status = vn_safetensors_open(&st, copy, n, &arena, err, sizeof err);
        REQUIRE(status == VN_EFORMAT, "length %zu of %zu: status %d", n, file.size, status);
        REQUIRE(strlen(err) > 20, "length %zu: message \"%s\"", n, err);
        free(copy);
    }
    /* one byte more */
    unsigned char *longer = malloc(file.size + 1);
    memcpy(longer, file.data, file.size);
    longer[file.size] = 0;
    ck_assert_int_eq(vn_safetensors_open(&st, longer, file.size + 1, &arena, err, sizeof err), VN_EFORMAT);
    ck_assert_msg(strstr(err, "extra bytes") != NULL, "%s", err);
    free(longer);
    ck_assert_uint_eq(arena.in_use, 0);
    vn_arena_release(&arena);
    vn_host_buffer_free(&file);
}
END_TEST

START_TEST(test_st_fuzz) {
    vn_host_buffer file = sample_file();
    vn_arena arena;
    vn_host_arena(&arena, NULL);
    char err[ERR_SIZE];
    int accepted = 0;
    for (int it = 0; it < 20000; it++) {
        unsigned char *copy = exact_copy(file.data, file.size);
        int flips = 1 + (int)(rng_next() % 4);
        for (int k = 0; k < flips; k++) {
            size_t at = rng_next() % file.size;
            if (rng_next() & 1) copy[at] = (unsigned char)rng_next();
            else copy[at] = (unsigned char)"{}[],:\"0123456789-.eE \\u"[rng_next() % 25];
        }
        vn_safetensors st;
        vn_arena_mark mark = vn_arena_get_mark(&arena);
        vn_status status = vn_safetensors_open(&st, copy, file.size, &arena, err, sizeof err);
        if (status == VN_OK) {
            accepted++;
            for (size_t e = 0; e < st.count; e++) {
                vn_tensor t;
                int64_t *ints;
                size_t count;
                if (vn_safetensors_entry_tensor(&st.entries[e], &arena, &t, err, sizeof err) != VN_OK)
                    REQUIRE(err[0] != '\0', "no message");
                if (vn_safetensors_int64(&st, st.entries[e].name, &arena, &ints, &count, NULL, err, sizeof err) != VN_OK)
                    REQUIRE(err[0] != '\0', "no message");
            }
        } else {
            REQUIRE(status == VN_EFORMAT || status == VN_EOVERFLOW, "status %d", status);
            REQUIRE(err[0] != '\0', "no message");
        }
        vn_arena_rewind(&arena, mark);
        free(copy);
    }
    ck_assert_int_gt(accepted, 0); /* flips inside tensor data keep the file valid */
    vn_arena_release(&arena);
    vn_host_buffer_free(&file);
}
END_TEST

START_TEST(test_st_out_of_memory) {
    vn_host_buffer file = sample_file();
    static unsigned char buffer[1 << 14];
    char err[ERR_SIZE];
    /* growing fixed arenas: every size either fails cleanly or succeeds */
    bool succeeded = false;
    for (size_t size = 64; size <= sizeof buffer; size += 64) {
        vn_arena arena;
        vn_arena_init_buffer(&arena, buffer, size);
        vn_safetensors st;
        vn_status status = vn_safetensors_open(&st, file.data, file.size, &arena, err, sizeof err);
        if (status == VN_OK) {
            succeeded = true;
            break;
        }
        ck_assert_int_eq(status, VN_ENOMEM);
        ck_assert_msg(strstr(err, "out of memory") != NULL, "%s", err);
        ck_assert_uint_eq(arena.used, 0);
    }
    ck_assert(succeeded);
    vn_host_buffer_free(&file);
}
END_TEST

/* ======================================================================== */
/* The reference files                                                      */
/* ======================================================================== */

#define REF_DIR "data/ref"

typedef struct loaded {
    unsigned char *bytes;
    vn_safetensors st;
} loaded;

static bool load_st(const char *path, vn_arena *arena, loaded *out) {
    char herr[VN_HOST_ERR], err[ERR_SIZE];
    size_t size;
    if (!vn_host_read_file(path, &out->bytes, &size, herr)) return false;
    vn_status status = vn_safetensors_open(&out->st, out->bytes, size, arena, err, sizeof err);
    ck_assert_msg(status == VN_OK, "%s: %s", path, err);
    return true;
}

static const vn_json_value *load_json(const char *path, vn_arena *arena) {
    char herr[VN_HOST_ERR], err[ERR_SIZE];
    unsigned char *bytes;
    size_t size;
    if (!vn_host_read_file(path, &bytes, &size, herr)) return NULL;
    const vn_json_value *v = NULL;
    vn_status status = vn_json_parse(bytes, size, arena, &v, err, sizeof err);
    ck_assert_msg(status == VN_OK, "%s: %s", path, err);
    free(bytes);
    return v;
}

/* Checks every tensor of a file against an independent decode of its bytes. */
static void check_all_values(const char *path, const vn_safetensors *st, vn_arena *arena) {
    char err[ERR_SIZE];
    size_t sum = 0;
    for (size_t i = 0; i < st->count; i++) {
        const vn_safetensors_entry *e = &st->entries[i];
        sum += e->size;
        ck_assert_ptr_eq(vn_safetensors_find(st, e->name), e);
        if (e->dtype == VN_ST_F32 || e->dtype == VN_ST_F64) {
            vn_tensor t;
            ck_assert_msg(vn_safetensors_entry_tensor(e, arena, &t, err, sizeof err) == VN_OK, "%s: %s", path, err);
            ck_assert_uint_eq(t.numel, e->numel);
            for (size_t j = 0; j < t.numel; j++) {
                double want;
                if (e->dtype == VN_ST_F32) {
                    float f;
                    memcpy(&f, e->data + 4 * j, 4); /* this host is little-endian (checked) */
                    want = f;
                } else {
                    memcpy(&want, e->data + 8 * j, 8);
                }
                REQUIRE(t.data[j] == (vn_real)want, "%s: %s[%zu]", path, e->name, j);
                REQUIRE(isfinite(t.data[j]), "%s: %s[%zu]", path, e->name, j);
            }
        } else {
            ck_assert_msg(e->dtype == VN_ST_I64, "%s: %s has dtype %s", path, e->name,
                          vn_safetensors_dtype_name(e->dtype));
            int64_t *v;
            size_t count;
            ck_assert_int_eq(vn_safetensors_int64(st, e->name, arena, &v, &count, NULL, err, sizeof err), VN_OK);
            for (size_t j = 0; j < count; j++) {
                int64_t want;
                memcpy(&want, e->data + 8 * j, 8);
                REQUIRE(v[j] == want, "%s: %s[%zu]", path, e->name, j);
            }
        }
    }
    ck_assert_uint_eq(8 + st->header_length + sum, st->size);
}

static double activation(const char *name, double x) {
    if (strcmp(name, "relu") == 0) return x > 0 ? x : 0;
    if (strcmp(name, "gelu") == 0) return 0.5 * x * (1.0 + erf(x / sqrt(2.0)));
    if (strcmp(name, "tanh") == 0) return tanh(x);
    if (strcmp(name, "sigmoid") == 0) return 1.0 / (1.0 + exp(-x));
    ck_abort_msg("unknown activation %s", name);
    return 0;
}

static const double *tensor_doubles(const vn_safetensors *st, const char *name, size_t ndim, const size_t *shape,
                                    vn_arena *arena) {
    char err[ERR_SIZE];
    vn_tensor t;
    ck_assert_msg(vn_safetensors_tensor(st, name, arena, &t, err, sizeof err) == VN_OK, "%s", err);
    ck_assert_msg((size_t)t.ndim == ndim, "%s: %d dims", name, t.ndim);
    for (size_t i = 0; i < ndim; i++) ck_assert_msg(t.shape[i] == shape[i], "%s: dim %zu", name, i);
    double *out = vn_arena_alloc(arena, (t.numel ? t.numel : 1) * sizeof(double), 0);
    ck_assert_ptr_nonnull(out);
    for (size_t i = 0; i < t.numel; i++) out[i] = (double)t.data[i];
    return out;
}

static void check_case(const char *case_dir, vn_arena *arena, int *files) {
    char path[1024], err[ERR_SIZE];
    /* every safetensors file of the case and of its model/intervention dirs */
    const char *subdirs[3] = {"", "/model", "/intervention"};
    for (int s = 0; s < 3; s++) {
        snprintf(path, sizeof path, "%s%s", case_dir, subdirs[s]);
        DIR *dir = opendir(path);
        if (!dir) continue;
        struct dirent *de;
        while ((de = readdir(dir)) != NULL) {
            size_t n = strlen(de->d_name);
            if (n < 12 || strcmp(de->d_name + n - 12, ".safetensors") != 0) continue;
            char file[1400];
            snprintf(file, sizeof file, "%s/%s", path, de->d_name);
            loaded l;
            vn_arena_mark mark = vn_arena_get_mark(arena);
            ck_assert_msg(load_st(file, arena, &l), "cannot read %s", file);
            check_all_values(file, &l.st, arena);
            /* metadata values (data files) hold JSON */
            for (size_t m = 0; m < l.st.metadata_count; m++) {
                const vn_json_value *v;
                ck_assert_msg(vn_json_parse(l.st.metadata[m].value, l.st.metadata[m].value_length, arena, &v, err,
                                            sizeof err) == VN_OK,
                              "%s: metadata %s: %s", file, l.st.metadata[m].key, err);
            }
            free(l.bytes);
            vn_arena_rewind(arena, mark);
            (*files)++;
        }
        closedir(dir);
        /* JSON files parse */
        const char *jsons[3] = {"case.json", "config.json", "align.json"};
        for (int j = 0; j < 3; j++) {
            char file[1400];
            snprintf(file, sizeof file, "%s/%s", path, jsons[j]);
            FILE *f = fopen(file, "rb");
            if (!f) continue;
            fclose(f);
            ck_assert_ptr_nonnull(load_json(file, arena));
        }
    }

    /* The model: names and shapes from config.json, and its logits on the
     * data recomputed in double against expected.safetensors. */
    snprintf(path, sizeof path, "%s/model/config.json", case_dir);
    const vn_json_value *config = load_json(path, arena);
    ck_assert_ptr_nonnull(config);
    int64_t h, layers, classes;
    const char *act;
    ck_assert_int_eq(vn_json_get_int64(vn_json_get(config, "h_dim"), "h_dim", &h, err, sizeof err), VN_OK);
    ck_assert_int_eq(vn_json_get_int64(vn_json_get(config, "n_layer"), "n_layer", &layers, err, sizeof err), VN_OK);
    ck_assert_int_eq(vn_json_get_int64(vn_json_get(config, "num_classes"), "num_classes", &classes, err, sizeof err),
                     VN_OK);
    ck_assert_int_eq(vn_json_get_string(vn_json_get(config, "activation_function"), NULL, &act, NULL, err, sizeof err),
                     VN_OK);
    loaded model, data, expected;
    snprintf(path, sizeof path, "%s/model/model.safetensors", case_dir);
    ck_assert(load_st(path, arena, &model));
    snprintf(path, sizeof path, "%s/data.safetensors", case_dir);
    ck_assert(load_st(path, arena, &data));
    snprintf(path, sizeof path, "%s/expected.safetensors", case_dir);
    ck_assert(load_st(path, arena, &expected));
    ck_assert_uint_eq(model.st.count, (size_t)(2 * layers + 2));
    size_t hh = (size_t)h, cc = (size_t)classes;
    const double *W[16], *bias[16];
    ck_assert(layers <= 16);
    for (int64_t i = 0; i < layers; i++) {
        char name[64];
        size_t sw[2] = {hh, hh}, sb[1] = {hh};
        snprintf(name, sizeof name, "mlp.h.%d.ff1.weight", (int)i);
        W[i] = tensor_doubles(&model.st, name, 2, sw, arena);
        snprintf(name, sizeof name, "mlp.h.%d.ff1.bias", (int)i);
        bias[i] = tensor_doubles(&model.st, name, 1, sb, arena);
    }
    size_t ssw[2] = {cc, hh}, ssb[1] = {cc};
    const double *SW = tensor_doubles(&model.st, "score.weight", 2, ssw, arena);
    const double *SB = tensor_doubles(&model.st, "score.bias", 1, ssb, arena);
    const vn_safetensors_entry *base = vn_safetensors_find(&data.st, "base");
    ck_assert_ptr_nonnull(base);
    ck_assert_int_eq(base->ndim, 3);
    size_t B = base->shape[0];
    size_t sbase[3] = {B, 1, hh}, slog[2] = {B, cc};
    const double *x = tensor_doubles(&data.st, "base", 3, sbase, arena);
    const double *want = tensor_doubles(&expected.st, "base_logits", 2, slog, arena);
    for (size_t b = 0; b < B; b++) {
        double cur[64], next[64];
        ck_assert(hh <= 64);
        for (size_t k = 0; k < hh; k++) cur[k] = x[b * hh + k];
        for (int64_t l = 0; l < layers; l++) {
            for (size_t o = 0; o < hh; o++) {
                double s = bias[l][o];
                for (size_t k = 0; k < hh; k++) s += W[l][o * hh + k] * cur[k];
                next[o] = activation(act, s);
            }
            memcpy(cur, next, sizeof cur);
        }
        for (size_t c = 0; c < cc; c++) {
            double s = SB[c];
            for (size_t k = 0; k < hh; k++) s += SW[c * hh + k] * cur[k];
            ck_assert_msg(fabs(s - want[b * cc + c]) <= 1e-5, "%s: base_logits[%zu][%zu] %.9g, expected %.9g",
                          case_dir, b, c, s, want[b * cc + c]);
        }
    }
    /* labels, when present, are class ids */
    const vn_safetensors_entry *labels = vn_safetensors_find(&data.st, "labels");
    if (labels) {
        int64_t *v;
        size_t count;
        ck_assert_int_eq(vn_safetensors_int64(&data.st, "labels", arena, &v, &count, NULL, err, sizeof err), VN_OK);
        ck_assert_uint_eq(count, B);
        for (size_t i = 0; i < count; i++) ck_assert(v[i] >= 0 && v[i] < classes);
    }
    free(model.bytes);
    free(data.bytes);
    free(expected.bytes);
}

START_TEST(test_st_reference_cases) {
    uint32_t one = 1;
    unsigned char first;
    memcpy(&first, &one, 1);
    ck_assert_msg(first == 1, "the independent decode in this test assumes a little-endian host");
    vn_arena arena;
    vn_host_arena(&arena, NULL);
    DIR *dir = opendir(REF_DIR);
    ck_assert_msg(dir != NULL, "cannot open %s (run from tests/)", REF_DIR);
    struct dirent *de;
    int cases = 0, files = 0;
    while ((de = readdir(dir)) != NULL) {
        if (de->d_name[0] == '.') continue;
        char case_dir[512];
        snprintf(case_dir, sizeof case_dir, REF_DIR "/%s", de->d_name);
        char probe[600];
        snprintf(probe, sizeof probe, "%s/model/model.safetensors", case_dir);
        FILE *f = fopen(probe, "rb");
        if (!f) continue;
        fclose(f);
        vn_arena_mark mark = vn_arena_get_mark(&arena);
        check_case(case_dir, &arena, &files);
        vn_arena_rewind(&arena, mark);
        cases++;
    }
    closedir(dir);
    ck_assert_int_ge(cases, 11);
    ck_assert_int_ge(files, 4 * cases);
    vn_arena_release(&arena);
}
END_TEST

START_TEST(test_st_reference_details) {
    vn_arena arena;
    vn_host_arena(&arena, NULL);
    char err[ERR_SIZE];
    loaded model, data, expected, debug;
    ck_assert(load_st(REF_DIR "/seed_rotated_h32/model/model.safetensors", &arena, &model));
    const char *names[4] = {"mlp.h.0.ff1.bias", "mlp.h.0.ff1.weight", "score.bias", "score.weight"};
    const size_t shapes[4][2] = {{32, 0}, {32, 32}, {2, 0}, {2, 32}};
    const int ndims[4] = {1, 2, 1, 2};
    for (int i = 0; i < 4; i++) {
        /* Python's writer ordered this file by name, which is offset order here */
        const vn_safetensors_entry *e = &model.st.entries[i];
        ck_assert_str_eq(e->name, names[i]);
        ck_assert_int_eq(e->dtype, VN_ST_F32);
        ck_assert_int_eq(e->ndim, ndims[i]);
        for (int d = 0; d < ndims[i]; d++) ck_assert_uint_eq(e->shape[d], shapes[i][d]);
    }
    ck_assert_uint_eq(model.st.metadata_count, 0);
    /* the data file's metadata, in pyvene's nesting */
    ck_assert(load_st(REF_DIR "/seed_rotated_h32/data.safetensors", &arena, &data));
    const char *subspaces = vn_safetensors_metadata_get(&data.st, "subspaces");
    ck_assert_ptr_nonnull(subspaces);
    const vn_json_value *v;
    ck_assert_int_eq(vn_json_parse(subspaces, strlen(subspaces), &arena, &v, err, sizeof err), VN_OK);
    ck_assert_int_eq(vn_json_at(vn_json_at(vn_json_at(v, 0), 0), 0)->integer, 1);
    ck_assert_int_eq(vn_json_at(vn_json_at(vn_json_at(v, 0), 0), 1)->integer, 0);
    ck_assert_ptr_nonnull(vn_safetensors_metadata_get(&data.st, "unit_locations"));
    /* a full swap: the counterfactual logits are the source's logits */
    ck_assert(load_st(REF_DIR "/seed_rotated_h32/expected.safetensors", &arena, &expected));
    ck_assert(load_st(REF_DIR "/seed_rotated_h32/debug.safetensors", &arena, &debug));
    vn_tensor cf, src;
    ck_assert_int_eq(vn_safetensors_tensor(&expected.st, "counterfactual_logits", &arena, &cf, err, sizeof err), VN_OK);
    ck_assert_int_eq(vn_safetensors_tensor(&debug.st, "source_logits.0", &arena, &src, err, sizeof err), VN_OK);
    ck_assert(vn_tensor_same_shape(&cf, &src));
    for (size_t i = 0; i < cf.numel; i++) ck_assert(fabs((double)cf.data[i] - (double)src.data[i]) <= 1e-5);
    /* the align data file carries I64 labels between F32 tensors */
    loaded align;
    ck_assert(load_st(REF_DIR "/align_sgd_matrix_exp_h32/data.safetensors", &arena, &align));
    const vn_safetensors_entry *labels = vn_safetensors_find(&align.st, "labels");
    ck_assert_ptr_nonnull(labels);
    ck_assert_int_eq(labels->dtype, VN_ST_I64);
    ck_assert_int_eq(labels->ndim, 1);
    ck_assert_uint_eq(labels->shape[0], 20);
    vn_tensor t;
    ck_assert_int_eq(vn_safetensors_tensor(&align.st, "labels", &arena, &t, err, sizeof err), VN_EFORMAT);
    ck_assert_msg(strstr(err, "\"labels\" has dtype I64") != NULL, "%s", err);
    free(model.bytes);
    free(data.bytes);
    free(expected.bytes);
    free(debug.bytes);
    free(align.bytes);
    vn_arena_release(&arena);
}
END_TEST

/* ======================================================================== */

static Suite *files_suite(void) {
    Suite *s = suite_create("files");
    TCase *json = test_case(s, "json", NULL, NULL, 300);
    tcase_add_test(json, test_json_values);
    tcase_add_test(json, test_json_numbers);
    tcase_add_loop_test(json, test_json_reject, 0, (int)(sizeof bad_json / sizeof bad_json[0]));
    tcase_add_test(json, test_json_error_location);
    tcase_add_test(json, test_json_depth);
    tcase_add_test(json, test_json_big);
    tcase_add_test(json, test_json_out_of_memory);
    tcase_add_test(json, test_json_getters);
    tcase_add_test(json, test_json_parse_vs_strtod);
#if LDBL_MANT_DIG >= 64
    tcase_add_test(json, test_json_parse_halfway);
#endif

    TCase *writer = test_case(s, "json_writer", NULL, NULL, 300);
    tcase_add_test(writer, test_json_write_numbers);
    tcase_add_test(writer, test_json_write_roundtrip_random);
    tcase_add_test(writer, test_json_write_compact_and_pretty);
    tcase_add_test(writer, test_json_write_strings);
    tcase_add_test(writer, test_json_write_misuse);
    tcase_add_test(writer, test_json_dom_roundtrip);

    TCase *st = test_case(s, "safetensors", NULL, NULL, 300);
    tcase_add_test(st, test_safetensors_metadata_with_nul);
    tcase_add_test(st, test_st_reference_bytes);
    tcase_add_test(st, test_st_roundtrip);
    tcase_add_test(st, test_st_roundtrip_random);
    tcase_add_test(st, test_st_write_errors);
    tcase_add_test(st, test_st_valid_variants);
    tcase_add_test(st, test_st_reference_cases);
    tcase_add_test(st, test_st_reference_details);

    TCase *bad = test_case(s, "safetensors_malformed", NULL, NULL, 300);
    tcase_add_loop_test(bad, test_st_malformed, 0, (int)(sizeof bad_st / sizeof bad_st[0]));
    tcase_add_test(bad, test_st_conversion_errors);
    tcase_add_test(bad, test_st_header_length);
    tcase_add_test(bad, test_st_truncated_everywhere);
    tcase_add_test(bad, test_st_fuzz);
    tcase_add_test(bad, test_st_out_of_memory);
    return s;
}

int main(void) {
    return test_run(files_suite());
}
