/*
 * test_pickle.c — the pickle scanner on hand-written pickles, one per opcode path: protocol 0
 * GLOBAL/INST, protocol 2 BINPUT/BINGET memo, protocol 4 STACK_GLOBAL with SHORT_BINUNICODE +
 * MEMOIZE, OBJ, EXT1, stacked pickles, nested pickles, FRAME violations, limits, grading.
 * Never: reads files; every fixture is bytes in this file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "scan/pickle.h"

#define P(s) ((const uint8_t *)(s)), (sizeof(s) - 1)

static void scan(struct scan_report *r, const uint8_t *d, size_t n, struct pickle_stats *st)
{
	scan_report_init(r);
	assert_int_equal(pickle_scan(d, n, 0, 0, "t.pkl", r, st), 0);
}

static void test_proto0_global(void **state)
{
	struct scan_report r;
	struct pickle_stats st;

	(void)state;
	scan(&r, P("cos\nsystem\n(S'id'\ntR."), &st);
	assert_true(scan_report_has(&r, "pickle.global_dangerous", "os.system"));
	assert_int_equal(st.n_pickles, 1);
	assert_int_equal(st.n_calls, 1);
	assert_int_equal(scan_report_verdict(&r), SCAN_REJECTED);
	scan_report_free(&r);
}

static void test_proto0_inst(void **state)
{
	struct scan_report r;

	(void)state;
	scan(&r, P("(S'print(1)'\ni__builtin__\nexec\n."), NULL);
	assert_true(scan_report_has(&r, "pickle.global_dangerous", "__builtin__.exec"));
	scan_report_free(&r);
}

static void test_proto2_memo(void **state)
{
	struct scan_report r;

	(void)state;
	/* the module string is stored with BINPUT and fetched back with BINGET for STACK_GLOBAL;
	 * protocol 2 has no STACK_GLOBAL, but the scanner must follow the memo regardless */
	scan(&r, P("\x80\x02X\x02\x00\x00\x00osq\x01X\x06\x00\x00\x00systemq\x02h\x01h\x02\x93"
		   "X\x02\x00\x00\x00id\x85R."),
	     NULL);
	assert_true(scan_report_has(&r, "pickle.global_dangerous", "os.system"));
	scan_report_free(&r);
}

static void test_proto4_stack_global(void **state)
{
	struct scan_report r;
	struct pickle_stats st;

	(void)state;
	scan(&r, P("\x80\x04\x95\x1d\x00\x00\x00\x00\x00\x00\x00\x8c\x08" "builtins\x94\x8c\x04"
		   "eval\x94\x93\x94\x8c\x01" "1\x94\x85\x94R\x94."),
	     &st);
	assert_true(scan_report_has(&r, "pickle.global_dangerous", "builtins.eval"));
	assert_false(scan_report_has(&r, "pickle.frame_violation", NULL));
	assert_false(st.parse_error);
	scan_report_free(&r);
}

static void test_memoize_indirect(void **state)
{
	struct scan_report r;

	(void)state;
	/* strings memoized with MEMOIZE, a decoy pushed, then both fetched with BINGET */
	scan(&r, P("\x80\x04\x8c\x02os\x94\x8c\x06system\x94\x8c\x05" "decoy\x94" "0h\x00h\x01\x93"
		   "\x8c\x02id\x85R."),
	     NULL);
	assert_true(scan_report_has(&r, "pickle.global_dangerous", "os.system"));
	scan_report_free(&r);
}

static void test_unknown_operand(void **state)
{
	struct scan_report r;

	(void)state;
	/* STACK_GLOBAL fed by a GET of a memo slot never written: unresolvable -> dangerous */
	scan(&r, P("\x80\x04h\x07\x8c\x06system\x93."), NULL);
	assert_true(scan_report_has(&r, "pickle.global_dangerous", "unknown.system"));
	scan_report_free(&r);
}

static void test_obj(void **state)
{
	struct scan_report r;
	struct pickle_stats st;

	(void)state;
	scan(&r, P("\x80\x02(csubprocess\nPopen\nX\x02\x00\x00\x00lso."), &st);
	assert_true(scan_report_has(&r, "pickle.global_dangerous", "subprocess.Popen"));
	assert_int_equal(st.n_calls, 1);
	scan_report_free(&r);
}

static void test_ext1(void **state)
{
	struct scan_report r;

	(void)state;
	scan(&r, P("\x80\x02\x82\x07)R."), NULL);
	assert_true(scan_report_has(&r, "pickle.ext_registry", "ext:7"));
	scan_report_free(&r);
}

static void test_stacked(void **state)
{
	struct scan_report r;
	struct pickle_stats st;

	(void)state;
	/* a benign pickle, then a second one that calls posix.system */
	scan(&r, P("\x80\x02}q\x00.\x80\x02" "cposix\nsystem\nX\x02\x00\x00\x00idq\x01\x85R."), &st);
	assert_int_equal(st.n_pickles, 2);
	assert_true(scan_report_has(&r, "pickle.global_dangerous", "posix.system"));
	scan_report_free(&r);
}

static void test_nested(void **state)
{
	struct scan_report r;

	(void)state;
	/* pickle.loads(b"<pickle calling os.system>") */
	scan(&r,
	     P("\x80\x03" "cpickle\nloads\nC\x14\x80\x03" "cos\nsystem\nX\x00\x00\x00\x00"
	       "\x85R.\x85R."),
	     NULL);
	assert_true(scan_report_has(&r, "pickle.global_dangerous", "pickle.loads"));
	assert_true(scan_report_has(&r, "pickle.nested", NULL));
	assert_true(scan_report_has(&r, "pickle.global_dangerous", "os.system"));
	scan_report_free(&r);
}

static void test_frame_straddle(void **state)
{
	struct scan_report r;

	(void)state;
	/* a FRAME of 3 bytes, then a 5-byte SHORT_BINUNICODE crossing its end */
	scan(&r, P("\x80\x04\x95\x03\x00\x00\x00\x00\x00\x00\x00\x8c\x03" "abc."), NULL);
	assert_true(scan_report_has(&r, "pickle.frame_violation", NULL));
	assert_int_equal(scan_report_verdict(&r), SCAN_REJECTED);
	scan_report_free(&r);
}

static void test_benign_and_grades(void **state)
{
	struct scan_report r;

	(void)state;
	scan(&r, P("\x80\x02" "ccollections\nOrderedDict\n)R."), NULL);
	assert_true(scan_report_has(&r, "pickle.global_innocuous", "collections.OrderedDict"));
	assert_int_equal(scan_report_verdict(&r), SCAN_CLEAN);
	scan_report_free(&r);
	assert_int_equal(pickle_grade("torch._utils", "_rebuild_tensor_v2"), PICKLE_INNOCUOUS);
	assert_int_equal(pickle_grade("mymodule", "Thing"), PICKLE_SUSPICIOUS);
	assert_int_equal(pickle_grade("builtins", "eval.__call__"), PICKLE_DANGEROUS);
	assert_int_equal(pickle_grade("pathlib", "os.system"), PICKLE_DANGEROUS);
	assert_int_equal(pickle_grade("asyncio.unix_events", "x"), PICKLE_DANGEROUS);
	assert_int_equal(pickle_grade("__builtin__", "getattr"), PICKLE_DANGEROUS);
	assert_int_equal(pickle_grade("_codecs", "encode"), PICKLE_INNOCUOUS);
}

static void test_parse_error_keeps_findings(void **state)
{
	struct scan_report r;
	struct pickle_stats st;

	(void)state;
	scan(&r, P("\x80\x02" "cos\nsystem\n\xff\xff"), &st);
	assert_true(st.parse_error);
	assert_true(scan_report_has(&r, "pickle.global_dangerous", "os.system"));
	assert_true(scan_report_has(&r, "pickle.parse_error", NULL));
	scan_report_free(&r);
}

static void test_underflow_and_truncation(void **state)
{
	static const char *const bad[] = {"R", "\x80\x02\x93", "X\xff\xff\xff\x7f", "\x8e\xff", "t",
					  "cos\nsys", "\x80\x09."};
	struct scan_report r;
	struct pickle_stats st;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		scan(&r, (const uint8_t *)bad[i], strlen(bad[i]), &st);
		assert_true(st.parse_error);
		scan_report_free(&r);
	}
}

static void test_sniff(void **state)
{
	(void)state;
	assert_true(pickle_sniff(P("\x80\x04K\x01.")));
	assert_true(pickle_sniff(P("(lp0\nI1\na.")));
	assert_false(pickle_sniff(P("hello world")));
	assert_false(pickle_sniff(P("GGUF")));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_proto0_global),     cmocka_unit_test(test_proto0_inst),
	    cmocka_unit_test(test_proto2_memo),	      cmocka_unit_test(test_proto4_stack_global),
	    cmocka_unit_test(test_memoize_indirect),  cmocka_unit_test(test_unknown_operand),
	    cmocka_unit_test(test_obj),		      cmocka_unit_test(test_ext1),
	    cmocka_unit_test(test_stacked),	      cmocka_unit_test(test_nested),
	    cmocka_unit_test(test_frame_straddle),    cmocka_unit_test(test_benign_and_grades),
	    cmocka_unit_test(test_parse_error_keeps_findings),
	    cmocka_unit_test(test_underflow_and_truncation),
	    cmocka_unit_test(test_sniff),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
