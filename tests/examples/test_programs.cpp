// Every example program runs as one command and prints its walk-through; without Graphviz and gnuplot
// on the PATH the programs still succeed, say what they skipped, and leave the .dot/.gp/.csv sources.
// The programs are build/examples/<name> (built with -DXGRAD_BUILD_EXAMPLES=ON, the default); the tests
// of the numbers themselves are the test_exNN_*.cpp files next to this one.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "../data/temp_dir.hpp"

namespace {

namespace fs = std::filesystem;

fs::path program(const std::string& name) { return fs::path(XGRAD_BINARY_DIR) / "examples" / name; }

bool have_fashion_mnist() { return fs::exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz") || fs::exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte"); }

struct Outcome {
  int status = -1;
  std::string output;
};

// Runs `command` in `dir` with the given environment prefix; captures stdout and stderr.
Outcome run(const std::string& env, const fs::path& exe, const std::string& args, const fs::path& dir) {
  const fs::path log = dir / "output.log";
  const std::string cmd = "cd '" + dir.string() + "' && " + env + " '" + exe.string() + "' " + args + " > '" + log.string() + "' 2>&1";
  Outcome o;
  o.status = std::system(cmd.c_str());
  std::ifstream f(log);
  std::stringstream ss;
  ss << f.rdbuf();
  o.output = ss.str();
  return o;
}

void check_has(const std::string& text, const std::vector<std::string>& parts) {
  for (const auto& p : parts) {
    INFO("output:\n" << text);
    CHECK_MESSAGE(text.find(p) != std::string::npos, "missing '" << p << "'");
  }
}

struct Program {
  std::string name;
  std::string args;                 // besides --out
  std::vector<std::string> prints;  // parts of the walk-through the output must contain
  bool needs_fashion_mnist = false;
};

const std::vector<Program>& programs() {
  static const std::vector<Program> list = {
      {"ex01_perceptron", "", {"AND", "XOR", "converged"}},
      {"ex02_xor_mlp", "", {"20", "-30"}},
      {"ex03_sigmoid_neuron", "", {"1000"}},
      {"ex04_single_neuron", "--epochs 3", {"linear unit", "logistic unit", "stochastic"}},
      {"ex05_linear_network", "", {"(slide: [1.0, 2.0, 1.5])", "(slide: 1.4)", "(slide: [0.36, 0.22, 0.14])"}},
      {"ex06_forward_backward", "", {"(slide: .191)", "(slide: -0.809)"}},
      {"ex07_odd_even", "", {"∂E/∂w7 = ∂E/∂out · ∂out/∂z · ∂z/∂w7", "0.8796", "practice: w6"}},
      {"ex08_softmax_chain", "", {"∂E/∂O_out"}},
      {"ex09_activations", "", {"arctan", "PReLU", "SELU", "SoftPlus"}},
      {"ex10_keras_models", "", {"EarlyStopping", "Predicted probabilities", "Predicted: False, Actual: 0", "L1         w = ["}},
      {"ex11_vanishing_gradients", "", {"sigmoid", "relu+bn"}},
      {"ex12_transfer_autoencoder", "--train 600 --epochs 1", {"transfer learning", "reconstruction MSE"}, true},
  };
  return list;
}

}  // namespace

TEST_CASE("examples: every program runs as one command and prints its walk-through [slow, ~40 s]") {
  for (const Program& p : programs()) {
    SUBCASE(p.name.c_str()) {
      const fs::path exe = program(p.name);
      if (!fs::exists(exe)) {
        MESSAGE("skipped: " << exe.string() << " not built (configure with -DXGRAD_BUILD_EXAMPLES=ON)");
        continue;
      }
      if (p.needs_fashion_mnist && !have_fashion_mnist()) {
        MESSAGE("skipped: Fashion-MNIST not installed (Debian package dataset-fashion-mnist)");
        continue;
      }
      xgrad::testing::TempDir dir;
      const Outcome o = run("", exe, p.args + " --out out", dir.path());
      INFO("output:\n" << o.output);
      CHECK(o.status == 0);
      check_has(o.output, p.prints);
    }
  }
}

TEST_CASE("examples: without dot and gnuplot on the PATH the pictures are skipped with a message, never an error") {
  // PATH holds only an empty directory: `command -v dot` and `command -v gnuplot` fail (the shell itself
  // is /bin/sh, which std::system runs without a PATH lookup).
  struct Case {
    std::string name, args;
    std::string message;                  // what the program says it skipped
    std::vector<std::string> written;     // files still written
    std::vector<std::string> not_written; // pictures not made
  };
  const std::vector<Case> cases = {
      {"ex05_linear_network", "", "Graphviz `dot` not found", {"ex05_graph.dot"}, {"ex05_graph.svg", "ex05_graph.png"}},
      {"ex07_odd_even", "", "Graphviz `dot` not found", {"ex07_graph.dot"}, {"ex07_graph.png"}},
      {"ex03_sigmoid_neuron", "", "gnuplot not found", {"ex03_error.csv", "ex03_error.gp"}, {"ex03_error.png"}},
      {"ex09_activations", "", "gnuplot not found", {"ex09_activations.csv", "ex09_activations.gp"}, {"ex09_activations.png"}},
      {"ex04_single_neuron", "--epochs 2", "gnuplot not found", {"out/curves_linear.csv", "out/curves_logistic.csv"},
       {"out/curves_linear.png"}},
      {"ex11_vanishing_gradients", "", "gnuplot not found", {"out/grad_norms.csv"}, {"out/grad_norms.png"}},
  };
  for (const Case& c : cases) {
    SUBCASE(c.name.c_str()) {
      const fs::path exe = program(c.name);
      if (!fs::exists(exe)) {
        MESSAGE("skipped: " << exe.string() << " not built");
        continue;
      }
      xgrad::testing::TempDir dir;
      fs::create_directories(fs::path(dir.path()) / "empty-bin");
      const std::string out_arg = c.written.front().rfind("out/", 0) == 0 ? " --out out" : " --out .";
      const Outcome o = run("PATH='" + dir.path() + "/empty-bin'", exe, c.args + out_arg, dir.path());
      INFO("output:\n" << o.output);
      CHECK(o.status == 0);
      check_has(o.output, {c.message});
      for (const auto& f : c.written) CHECK_MESSAGE(fs::exists(fs::path(dir.path()) / f), "missing " << f);
      for (const auto& f : c.not_written) CHECK_MESSAGE(!fs::exists(fs::path(dir.path()) / f), "unexpected " << f);
    }
  }
}
