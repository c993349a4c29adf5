// The test runner. ctest runs every test case as `xgrad_tests --test-case=<name>`; a name that the
// filter no longer matches (a renamed case, or a name CMake cut at a ';') would run nothing and exit
// 0, so a "passed" test would prove nothing. This runner fails when a --test-case filter matched no
// test case.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <string_view>

namespace {

int g_cases_started = 0;

struct CaseCounter : doctest::IReporter {
  explicit CaseCounter(const doctest::ContextOptions&) {}
  void report_query(const doctest::QueryData&) override {}
  void test_run_start() override {}
  void test_run_end(const doctest::TestRunStats&) override {}
  void test_case_start(const doctest::TestCaseData&) override { ++g_cases_started; }
  void test_case_reenter(const doctest::TestCaseData&) override {}
  void test_case_end(const doctest::CurrentTestCaseStats&) override {}
  void test_case_exception(const doctest::TestCaseException&) override {}
  void subcase_start(const doctest::SubcaseSignature&) override {}
  void subcase_end() override {}
  void log_assert(const doctest::AssertData&) override {}
  void log_message(const doctest::MessageData&) override {}
  void test_case_skipped(const doctest::TestCaseData&) override {}
};

REGISTER_LISTENER("case-counter", 1, CaseCounter);

bool has_case_filter(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    for (std::string_view prefix : {"-tc=", "--test-case=", "-dt-tc=", "--dt-test-case="})
      if (a.substr(0, prefix.size()) == prefix) return true;
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  doctest::Context context(argc, argv);
  const int status = context.run();
  if (context.shouldExit() || status != 0) return status;
  if (g_cases_started == 0 && has_case_filter(argc, argv)) {
    std::fprintf(stderr, "xgrad_tests: the --test-case filter matched no test case (renamed, or a name with ';' cut by CMake?)\n");
    return 1;
  }
  return status;
}
