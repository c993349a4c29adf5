// CSV reader: scikit-learn's bundled files and every error path.
#include <xgrad/data/data.hpp>

#include <filesystem>

#include "data/temp_dir.hpp"
#include "support/test_util.hpp"

using namespace xgrad;
using xgrad::testing::check_throws_with;
using xgrad::testing::TempDir;

namespace {

const std::string kSk = "/usr/lib/python3/dist-packages/sklearn/datasets/data";

bool have_sklearn() { return std::filesystem::exists(kSk + "/iris.csv"); }

std::vector<int> class_counts(const Tensor& labels, int classes) {
  std::vector<int> c(static_cast<std::size_t>(classes), 0);
  for (auto v : labels.to_vector<std::int64_t>()) {
    REQUIRE(v >= 0);
    REQUIRE(v < classes);
    ++c[static_cast<std::size_t>(v)];
  }
  return c;
}

}  // namespace

TEST_CASE("read_csv: scikit-learn iris and breast_cancer") {
  if (!have_sklearn()) {
    MESSAGE("skipped: " << kSk << " is missing");
    return;
  }
  // The generic recipe: skip the "n_samples,n_features,class names" line, no header, label last.
  const data::CsvData iris = data::read_csv(kSk + "/iris.csv", {.has_header = false, .skip_rows = 1});
  CHECK(iris.features.shape() == Shape{150, 4});
  CHECK(iris.features.dtype() == kFloat32);
  CHECK(iris.target.shape() == Shape{150});
  CHECK(iris.target.dtype() == kInt64);  // whole-number labels
  CHECK(class_counts(iris.target, 3) == std::vector<int>{50, 50, 50});
  // First row of Fisher's iris data: 5.1, 3.5, 1.4, 0.2, setosa.
  CHECK(iris.features.at({0, 0}) == doctest::Approx(5.1));
  CHECK(iris.features.at({0, 3}) == doctest::Approx(0.2));
  CHECK(iris.column_names.size() == 5);
  CHECK(iris.target_name == "column_4");

  // The sklearn loader: checks the counts and returns the class names.
  const data::CsvData iris2 = data::load_sklearn_csv(kSk + "/iris.csv");
  CHECK(iris2.class_names == std::vector<std::string>{"setosa", "versicolor", "virginica"});
  CHECK(iris2.target.to_vector<std::int64_t>() == iris.target.to_vector<std::int64_t>());

  const data::CsvData bc = data::load_sklearn_csv(kSk + "/breast_cancer.csv", kFloat64);
  CHECK(bc.features.shape() == Shape{569, 30});
  CHECK(bc.features.dtype() == kFloat64);
  CHECK(bc.class_names == std::vector<std::string>{"malignant", "benign"});
  CHECK(class_counts(bc.target, 2) == std::vector<int>{212, 357});  // WDBC: 212 malignant, 357 benign
  CHECK(bc.features.at({0, 0}) == 17.99);
  CHECK(bc.target.at({0}) == 0.0);

  const data::CsvData wine = data::load_sklearn_csv(kSk + "/wine_data.csv");
  CHECK(wine.features.shape() == Shape{178, 13});
  CHECK(class_counts(wine.target, 3) == std::vector<int>{59, 71, 48});
}

TEST_CASE("read_csv: gzip, whitespace-separated, no target, named target") {
  if (!have_sklearn()) {
    MESSAGE("skipped: " << kSk << " is missing");
    return;
  }
  const data::CsvData x = data::read_csv(kSk + "/diabetes_data_raw.csv.gz",
                                         {.has_header = false, .target_column = data::ColumnRef::none(), .delimiter = ' '});
  CHECK(x.features.shape() == Shape{442, 10});
  CHECK(!x.target.defined());
  CHECK(x.features.at({0, 0}) == 59.0);
  CHECK(x.features.at({0, 2}) == doctest::Approx(32.1));
  const data::CsvData y = data::read_csv(kSk + "/diabetes_target.csv.gz",
                                         {.has_header = false, .target_column = 0, .delimiter = ' ', .target_dtype = kFloat32});
  CHECK(y.target.shape() == Shape{442});
  CHECK(y.target.dtype() == kFloat32);
  CHECK(y.features.shape() == Shape{442, 0});
  CHECK(y.target.at({0}) == 151.0);
  // Boston: counts on line 1, quoted names on line 2, target by name.
  if (std::filesystem::exists(kSk + "/boston_house_prices.csv")) {
    const data::CsvData b = data::read_csv(kSk + "/boston_house_prices.csv", {.skip_rows = 1, .target_column = "MEDV"});
    CHECK(b.features.shape() == Shape{506, 13});
    CHECK(b.target.dtype() == kFloat32);  // 24, 21.6, ...: not all whole
    CHECK(b.target.at({0}) == 24.0);
    CHECK(b.feature_names.front() == "CRIM");
  }
}

TEST_CASE("read_csv: small files, header, quoting, target selection") {
  TempDir dir;
  const std::string p = dir.file("a.csv");
  testing::write_bytes(p, "x, \"y\" ,label\r\n1,2.5,0\r\n\r\n-3,+4e1,1\r\n  5 ,\"6\",2\r\n");
  const data::CsvData d = data::read_csv(p);
  CHECK(d.column_names == std::vector<std::string>{"x", "y", "label"});
  CHECK(d.feature_names == std::vector<std::string>{"x", "y"});
  CHECK(d.features.shape() == Shape{3, 2});
  CHECK(d.features.to_vector<double>() == std::vector<double>{1, 2.5, -3, 40, 5, 6});
  CHECK(d.target.to_vector<std::int64_t>() == std::vector<std::int64_t>{0, 1, 2});
  // Target by name and by index; features keep file order.
  const data::CsvData byname = data::read_csv(p, {.target_column = "x"});
  CHECK(byname.feature_names == std::vector<std::string>{"y", "label"});
  CHECK(byname.target.to_vector<std::int64_t>() == std::vector<std::int64_t>{1, -3, 5});
  const data::CsvData byidx = data::read_csv(p, {.target_column = 1});
  CHECK(byidx.target.dtype() == kFloat32);  // 2.5 is not whole
  CHECK(byidx.target.to_vector<double>() == std::vector<double>{2.5, 40, 6});
  CHECK(byidx.features.to_vector<double>() == std::vector<double>{1, 0, -3, 1, 5, 2});
  // float64 features, forced float target.
  const data::CsvData f64 = data::read_csv(p, {.feature_dtype = kFloat64, .target_dtype = kFloat64});
  CHECK(f64.features.dtype() == kFloat64);
  CHECK(f64.target.dtype() == kFloat64);
  // Other delimiters, quoted delimiters, gzip.
  const std::string semi = dir.file("b.csv.gz");
  testing::write_gz(semi, "a;\"b;c\";\"say \"\"hi\"\"\"\n1;2;3\n");
  const data::CsvData s = data::read_csv(semi, {.delimiter = ';'});
  CHECK(s.column_names == std::vector<std::string>{"a", "b;c", "say \"hi\""});
  CHECK(s.features.to_vector<double>() == std::vector<double>{1, 2});
  // Tab-separated with an empty-looking but present field order.
  const std::string tsv = dir.file("c.tsv");
  testing::write_bytes(tsv, "1\t2\t3\n4\t5\t6");  // no final newline
  const data::CsvData t = data::read_csv(tsv, {.has_header = false, .delimiter = '\t'});
  CHECK(t.features.to_vector<double>() == std::vector<double>{1, 2, 4, 5});
  CHECK(t.target.to_vector<std::int64_t>() == std::vector<std::int64_t>{3, 6});
  CHECK(t.column_names == std::vector<std::string>{"column_0", "column_1", "column_2"});
}

TEST_CASE("read_csv: errors name file, line and column") {
  TempDir dir;
  const std::string missing = dir.file("missing.csv");
  check_throws_with<IOError>([&] { data::read_csv(missing); }, {"read_csv", missing, "No such file"});

  const std::string empty = dir.file("empty.csv");
  testing::write_bytes(empty, "");
  check_throws_with<IOError>([&] { data::read_csv(empty); }, {"read_csv", empty, "empty"});
  const std::string blank = dir.file("blank.csv");
  testing::write_bytes(blank, "\n  \n\r\n");
  check_throws_with<IOError>([&] { data::read_csv(blank); }, {"read_csv", blank, "empty"});
  const std::string header_only = dir.file("header.csv");
  testing::write_bytes(header_only, "a,b\n");
  check_throws_with<IOError>([&] { data::read_csv(header_only); }, {"read_csv", header_only, "no data rows"});
  const std::string skipped = dir.file("skipped.csv");
  testing::write_bytes(skipped, "1,2\n");
  check_throws_with<IOError>([&] { data::read_csv(skipped, {.skip_rows = 3}); }, {"read_csv", skipped, "empty", "3 skipped"});

  const std::string word = dir.file("word.csv");
  testing::write_bytes(word, "a,b,c\n1,2,3\n4,abc,6\n");
  check_throws_with<IOError>([&] { data::read_csv(word); }, {"read_csv", word, "line 3", "column 2 ('b')", "'abc' is not a number"});
  const std::string cell = dir.file("cell.csv");
  testing::write_bytes(cell, "1,2,3\n4,5,\n");
  check_throws_with<IOError>([&] { data::read_csv(cell, {.has_header = false}); },
                             {"read_csv", cell, "line 2", "column 3 ('column_2')", "empty cell"});
  const std::string partial = dir.file("partial.csv");
  testing::write_bytes(partial, "1,2x,3\n");
  check_throws_with<IOError>([&] { data::read_csv(partial, {.has_header = false}); },
                             {"read_csv", partial, "line 1", "column 2", "'2x'"});

  const std::string ragged = dir.file("ragged.csv");
  testing::write_bytes(ragged, "a,b,c\n1,2,3\n\n4,5\n");
  check_throws_with<IOError>([&] { data::read_csv(ragged); }, {"read_csv", ragged, "line 4", "expected 3 fields", "header", "got 2"});
  const std::string ragged2 = dir.file("ragged2.csv");
  testing::write_bytes(ragged2, "1,2\n3,4,5\n");
  check_throws_with<IOError>([&] { data::read_csv(ragged2, {.has_header = false}); },
                             {"read_csv", ragged2, "line 2", "expected 2 fields", "line 1", "got 3"});

  const std::string named = dir.file("named.csv");
  testing::write_bytes(named, "sepal,petal,species\n1,2,0\n");
  check_throws_with<IOError>([&] { data::read_csv(named, {.target_column = "label"}); },
                             {"read_csv", named, "no column named 'label'", "'sepal', 'petal', 'species'"});
  check_throws_with<IndexError>([&] { data::read_csv(named, {.target_column = 3}); }, {"read_csv", named, "index 3", "3 columns"});
  check_throws_with<IndexError>([&] { data::read_csv(named, {.target_column = -4}); }, {"read_csv", "index -4"});

  const std::string quote = dir.file("quote.csv");
  testing::write_bytes(quote, "a,b\n1,\"2\n");
  check_throws_with<IOError>([&] { data::read_csv(quote); }, {"read_csv", quote, "line 2", "column 2", "unterminated"});

  const std::string frac = dir.file("frac.csv");
  testing::write_bytes(frac, "x,y\n1,0\n2,0.5\n");
  check_throws_with<DtypeError>([&] { data::read_csv(frac, {.target_dtype = kInt64}); },
                                {"read_csv", frac, "line 3", "column 2 ('y')", "0.5", "whole"});
  check_throws_with<DtypeError>([&] { data::read_csv(frac, {.feature_dtype = kInt64}); }, {"read_csv", "feature_dtype", "int64"});

  // A corrupt gzip file.
  const std::string gz = dir.file("bad.csv.gz");
  testing::write_gz(gz, std::string(5000, '1') + "\n");
  std::string raw = testing::read_bytes(gz);
  testing::write_bytes(gz, raw.substr(0, raw.size() - 12));
  check_throws_with<IOError>([&] { data::read_csv(gz); }, {"read_csv", gz});
}

TEST_CASE("load_sklearn_csv: malformed first line and count mismatches") {
  TempDir dir;
  const std::string bad = dir.file("bad.csv");
  testing::write_bytes(bad, "a,b,c\n1,2,0\n");
  check_throws_with<IOError>([&] { data::load_sklearn_csv(bad); }, {"load_sklearn_csv", bad, "line 1", "n_samples,n_features"});
  const std::string count = dir.file("count.csv");
  testing::write_bytes(count, "3,2,no,yes\n1,2,0\n3,4,1\n");
  check_throws_with<IOError>([&] { data::load_sklearn_csv(count); }, {"load_sklearn_csv", count, "3 samples of 2 features", "2 rows"});
  const std::string label = dir.file("label.csv");
  testing::write_bytes(label, "2,2,no,yes\n1,2,0\n3,4,2\n");
  check_throws_with<IOError>([&] { data::load_sklearn_csv(label); }, {"load_sklearn_csv", label, "data row 2", "label 2", "0..1"});
  const std::string ok = dir.file("ok.csv");
  testing::write_bytes(ok, "2,2,no,yes\n1,2,0\n3,4,1\n");
  const data::CsvData d = data::load_sklearn_csv(ok);
  CHECK(d.class_names == std::vector<std::string>{"no", "yes"});
  CHECK(d.target.to_vector<std::int64_t>() == std::vector<std::int64_t>{0, 1});
  check_throws_with<IOError>([&] { data::load_sklearn_csv(dir.file("none.csv")); }, {"load_sklearn_csv", "none.csv", "No such file"});
}
