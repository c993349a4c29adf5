// No data lost: checkpoint writes under hostile conditions.
//
//  - A full disk (a 256 KiB tmpfs mounted in a private mount namespace of a child process), a
//    read-only file system and a directory the writer may not write to are clear IOErrors naming the
//    path and the system's reason, and the previous checkpoint stays byte-for-byte intact and loads.
//  - A training job that is SIGKILLed at random points and restarted from its last checkpoint every
//    time, until it completes, ends bit-identical to a run that was never interrupted, and after
//    every kill the checkpoint on disk loads.
//
// The faults are injected in forked children (mount namespaces, dropped privileges, kills) so the
// test process itself is never affected. A child reports its findings as text through a pipe: an
// empty report means every check passed; "SKIP: ..." means the environment cannot inject the fault
// (no permission to create a mount namespace), which the parent reports without failing. The file-size
// limit variant of a full disk (RLIMIT_FSIZE, works everywhere) is in tests/train/checkpoint_test.cpp.
#include <xgrad/data/data.hpp>
#include <xgrad/nn/nn.hpp>
#include <xgrad/optim/optim.hpp>
#include <xgrad/train/train.hpp>

#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>
#include <random>
#include <thread>

#include "data/temp_dir.hpp"
#include "support/test_util.hpp"

using namespace xgrad;
using xgrad::testing::TempDir;

namespace {

// Runs `body` in a forked child and returns its report ("" = all checks passed). A child that dies
// or exits without reporting yields a report saying so.
std::string in_child(const std::function<std::string()>& body) {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(fds[0]);
    std::string report;
    try {
      report = body();
    } catch (const std::exception& e) {
      report = std::string("unexpected exception: ") + e.what();
    } catch (...) {
      report = "unexpected non-std exception";
    }
    report += '\n';  // so that an empty report is still a report
    std::size_t done = 0;
    while (done < report.size()) {
      const ssize_t w = ::write(fds[1], report.data() + done, report.size() - done);
      if (w <= 0) break;
      done += static_cast<std::size_t>(w);
    }
    ::_exit(0);  // no atexit handlers, no doctest teardown in the child
  }
  ::close(fds[1]);
  std::string out;
  char buf[4096];
  for (ssize_t r; (r = ::read(fds[0], buf, sizeof buf)) != 0;) {
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) break;
    out.append(buf, static_cast<std::size_t>(r));
  }
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || out.empty() || out.back() != '\n')
    return "child died (status " + std::to_string(status) + ") after reporting '" + out + "'";
  out.pop_back();
  return out;
}

// Appends to `report` when `ok` is false.
void expect(std::string& report, bool ok, const std::string& what) {
  if (!ok) report += "[" + what + "] ";
}

// Calls `save` expecting an IOError whose message holds every one of `parts`; notes anything else.
void expect_io_error(std::string& report, const std::string& label, const std::function<void()>& save,
                     const std::vector<std::string>& parts) {
  try {
    save();
    report += "[" + label + ": no error] ";
  } catch (const IOError& e) {
    const std::string msg = e.what();
    for (const auto& p : parts)
      if (msg.find(p) == std::string::npos) report += "[" + label + ": message '" + msg + "' lacks '" + p + "'] ";
  } catch (const std::exception& e) {
    report += "[" + label + ": not an IOError: " + e.what() + "] ";
  }
}

// Files of `dir` other than `keep`.
std::vector<std::string> others_in(const std::string& dir, const std::string& keep) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().filename() != keep) out.push_back(e.path().filename().string());
  return out;
}

// Checks that `path` still holds exactly `bytes` and loads as the old checkpoint (metadata v = old).
void expect_old_intact(std::string& report, const std::string& label, const std::string& path, const std::string& bytes) {
  expect(report, testing::read_bytes(path) == bytes, label + ": old file changed");
  try {
    const train::Checkpoint c = train::load_safetensors(path);
    expect(report, c.metadata.at("v") == "old", label + ": old metadata");
    expect(report, c.tensors.at("w").to_vector<double>() == std::vector<double>(1000, 7.0), label + ": old values");
  } catch (const std::exception& e) {
    report += "[" + label + ": old file does not load: " + e.what() + "] ";
  }
}

std::string skip_text(const char* what) { return std::string("SKIP: ") + what + ": " + std::strerror(errno); }

}  // namespace

TEST_CASE("checkpoint faults: a full disk or a read-only file system is an IOError and the old checkpoint stays intact") {
  TempDir outer;
  const std::string mnt = outer.file("mnt");
  std::filesystem::create_directory(mnt);
  const std::string report = in_child([&]() -> std::string {
    // A private mount namespace: the tmpfs is visible to this child only and vanishes with it.
    if (::unshare(CLONE_NEWNS) != 0) return skip_text("unshare(CLONE_NEWNS)");
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return skip_text("mount --make-rprivate /");
    if (::mount("tmpfs", mnt.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "size=256k") != 0) return skip_text("mount tmpfs");
    std::string r;
    const std::string path = mnt + "/ck.safetensors";
    train::save_safetensors(path, {{"w", full({1000}, 7.0, kFloat64)}}, {{"v", "old"}});
    const std::string old = testing::read_bytes(path);

    // 1. The disk fills up in the middle of the data: 800 KB into 256 KiB.
    expect_io_error(
        r, "fills during the write", [&] { train::save_safetensors(path, {{"w", zeros({200000})}}, {{"v", "new"}}); },
        {"save_safetensors", path, "write failed", "No space left on device"});
    expect_old_intact(r, "fills during the write", path, old);
    expect(r, others_in(mnt, "ck.safetensors").empty(), "temporary file left after ENOSPC");

    // 2. The disk is full before the save starts (a filler takes every free block).
    const std::string filler = mnt + "/filler";
    {
      const int fd = ::open(filler.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      expect(r, fd >= 0, "open filler");
      const std::string block(4096, 'x');
      while (::write(fd, block.data(), block.size()) > 0) {
      }
      expect(r, errno == ENOSPC, "filler stopped by ENOSPC");
      ::close(fd);
    }
    expect_io_error(
        r, "already full", [&] { train::save_safetensors(path, {{"w", ones({4})}}, {{"v", "new"}}); },
        {"save_safetensors", path, "No space left on device"});
    expect_old_intact(r, "already full", path, old);
    // Once there is room again the same save succeeds (nothing of the failed saves holds space).
    std::filesystem::remove(filler);
    train::save_safetensors(path, {{"w", ones({4})}}, {{"v", "new"}});
    expect(r, train::load_safetensors(path).metadata.at("v") == "new", "save after freeing space");
    expect(r, others_in(mnt, "ck.safetensors").empty(), "temporary file left after a full disk");

    // 3. A read-only file system: the temporary file cannot even be created.
    train::save_safetensors(path, {{"w", full({1000}, 7.0, kFloat64)}}, {{"v", "old"}});
    const std::string before_ro = testing::read_bytes(path);
    if (::mount("tmpfs", mnt.c_str(), "tmpfs", MS_REMOUNT | MS_RDONLY, nullptr) != 0) return r + skip_text("remount read-only");
    expect_io_error(
        r, "read-only", [&] { train::save_safetensors(path, {{"w", ones({4})}}, {{"v", "new"}}); },
        {"save_safetensors", path, "cannot create the temporary file", "Read-only file system"});
    expect_old_intact(r, "read-only", path, before_ro);
    return r;
  });
  if (report.rfind("SKIP", 0) == 0) {
    MESSAGE("fault injection not possible here (" << report << "); the RLIMIT_FSIZE variant in checkpoint_test.cpp still ran");
    return;
  }
  CHECK_MESSAGE(report.empty(), report);
}

TEST_CASE("checkpoint faults: a directory the writer may not write to is an IOError and the old checkpoint stays intact") {
  TempDir dir;
  const std::string path = dir.file("ck.safetensors");
  train::save_safetensors(path, {{"w", full({1000}, 7.0, kFloat64)}}, {{"v", "old"}});
  const std::string old = testing::read_bytes(path);
  // r-x for everyone: listable and readable, not writable (root ignores modes, so a root test process
  // drops to the user nobody in the child first).
  std::filesystem::permissions(dir.path(), std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec |
                                               std::filesystem::perms::group_read | std::filesystem::perms::group_exec |
                                               std::filesystem::perms::others_read | std::filesystem::perms::others_exec);
  const std::string report = in_child([&]() -> std::string {
    if (::geteuid() == 0) {
      if (::setgroups(0, nullptr) != 0 || ::setgid(65534) != 0 || ::setuid(65534) != 0) return skip_text("dropping root");
    }
    std::string r;
    expect_io_error(
        r, "unwritable directory", [&] { train::save_safetensors(path, {{"w", ones({4})}}, {{"v", "new"}}); },
        {"save_safetensors", path, "cannot create the temporary file", path + ".tmp.", "Permission denied"});
    expect_old_intact(r, "unwritable directory", path, old);
    return r;
  });
  std::filesystem::permissions(dir.path(), std::filesystem::perms::owner_all);
  if (report.rfind("SKIP", 0) == 0) {
    MESSAGE(report);
  } else {
    CHECK_MESSAGE(report.empty(), report);
  }
  CHECK(testing::read_bytes(path) == old);
  CHECK(others_in(dir.path(), "ck.safetensors").empty());

  // A path through a regular file (no privileges needed to get this one).
  const std::string through_file = path + "/x.safetensors";
  testing::check_throws_with<IOError>([&] { train::save_safetensors(through_file, {{"w", ones({1})}}); },
                                      {"save_safetensors", through_file, "Not a directory"});
  CHECK(testing::read_bytes(path) == old);
}

namespace {

data::TensorDataset regression_data() {
  manual_seed(77);
  const Tensor x = randn({40, 4}, kFloat64);
  const Tensor y = matmul(x, tensor({{1.0}, {-1.0}, {0.5}, {2.0}}, kFloat64)).tanh() + randn({40, 1}, kFloat64) * 0.05;
  return data::TensorDataset(x, y);
}

// A model with dropout (so the generator state matters) and its Adam optimizer.
struct Job {
  std::shared_ptr<nn::Sequential> model;
  std::unique_ptr<optim::Adam> opt;
  Job() {
    manual_seed(5);
    model = std::make_shared<nn::Sequential>(nn::Linear(4, 16, true, kFloat64), nn::Tanh(), nn::Dropout(0.2),
                                             nn::Linear(16, 1, true, kFloat64));
    opt = std::make_unique<optim::Adam>(model->parameters(), optim::AdamOptions(0.01));
  }
};

constexpr std::int64_t kEpochs = 30;

train::FitOptions fit_options(std::int64_t initial_epoch) {
  return train::FitOptions().epochs(kEpochs).initial_epoch(initial_epoch).batch_size(8).seed(123).verbose(0);
}

// Trains `job` on `ds` from epoch `start` to kEpochs, checkpointing every epoch to `pattern` (ModelCheckpoint:
// {epoch} is the number of epochs done).
void train_from(Job& job, const data::TensorDataset& ds, std::int64_t start, const std::string& pattern) {
  auto ckpt = std::make_shared<train::ModelCheckpoint>(pattern, train::ModelCheckpointOptions().save_optimizer(true));
  train::fit(*job.model, train::losses::mse, *job.opt, ds, fit_options(start).callback(ckpt));
}

// Runs the job to completion, checkpointing every epoch to `path`; resumes from `path` when it exists
// (what a restarted job does).
void run_job(const std::string& path, const data::TensorDataset& ds) {
  Job job;
  std::int64_t start = 0;
  if (std::filesystem::exists(path)) start = static_cast<std::int64_t>(train::load_checkpoint(path, *job.model, *job.opt).at("epoch"));
  train_from(job, ds, start, path);
}

// The model's state and the optimizer's state, as raw doubles.
std::vector<double> flat_state(const Job& job) {
  std::vector<double> out;
  for (const auto& item : job.model->state_dict())
    for (double v : item.value.to_vector<double>()) out.push_back(v);
  const optim::StateDict s = job.opt->state_dict();
  for (const auto& [k, t] : s.tensors)
    for (double v : t.to_vector<double>()) out.push_back(v);
  for (const auto& [k, v] : s.scalars) out.push_back(v);
  return out;
}

bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
}

}  // namespace

TEST_CASE("checkpoint faults: a training job SIGKILLed at random points and restarted ends bit-identical to an uninterrupted run") {
  TempDir dir;
  // Made first: regression_data() seeds the generator, which the checkpoints restore.
  const data::TensorDataset ds = regression_data();
  // The uninterrupted run, timed to choose the kill delays; it keeps the checkpoint of every epoch.
  Job reference;
  const auto t0 = std::chrono::steady_clock::now();
  train_from(reference, ds, 0, dir.path() + "/ref-{epoch}.safetensors");
  const auto job_us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count();
  const std::vector<double> expected = flat_state(reference);
  {
    Job last;
    REQUIRE(train::load_checkpoint(dir.file("ref-30.safetensors"), *last.model, *last.opt).at("epoch") == double(kEpochs));
    CHECK(same_bits(flat_state(last), expected));
  }

  // Restart the job until it completes, killing it after a random delay of up to ~4 epochs each time.
  // A start that made no progress (killed while starting up) widens the delays, so the loop ends.
  // The epoch time of the reference run is only a first estimate (fsync times vary a lot).
  const std::string path = dir.file("last.safetensors");
  const std::int64_t epoch_us = std::max<std::int64_t>(job_us / kEpochs, 100);
  std::int64_t max_delay_us = 4 * epoch_us;
  std::mt19937_64 rng(7);
  std::int64_t kills = 0, last_epoch = 0, restarts = 0, in_save = 0;
  std::vector<std::int64_t> epochs_seen;
  bool completed = false;
  while (!completed && restarts < 400) {
    ++restarts;
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      try {
        run_job(path, ds);
      } catch (...) {
        ::_exit(3);
      }
      ::_exit(0);
    }
    const auto delay = std::chrono::microseconds(static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(max_delay_us)));
    std::this_thread::sleep_for(delay);
    ::kill(pid, SIGKILL);  // harmless if the child has already exited (it is a zombie until waited for)
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (WIFEXITED(status)) {
      REQUIRE(WEXITSTATUS(status) == 0);  // 3: the job threw (for instance the checkpoint did not load)
      completed = true;
    } else {
      REQUIRE(WIFSIGNALED(status));
      ++kills;
    }
    if (std::filesystem::remove(fmt::format("{}.tmp.{}", path, pid))) ++in_save;  // what a killed save leaves behind
    std::int64_t e = 0;
    if (std::filesystem::exists(path)) {  // else: killed before its first checkpoint
      // The checkpoint on disk always loads, and never goes back in time.
      Job probe;
      e = static_cast<std::int64_t>(train::load_checkpoint(path, *probe.model, *probe.opt).at("epoch"));
      CHECK(e >= last_epoch);
    }
    // Aim at a few epochs per start whatever the machine's speed: no progress widens the delays, a
    // long stretch narrows them.
    if (e == last_epoch) max_delay_us = max_delay_us * 3 / 2;
    if (e - last_epoch > 4) max_delay_us = std::max<std::int64_t>(max_delay_us * 2 / 3, 1000);
    last_epoch = std::max(last_epoch, e);
    epochs_seen.push_back(e);
  }
  MESSAGE(kills << " kills over " << restarts << " starts (" << in_save << " inside a save); the uninterrupted job takes " << job_us / 1000
                << " ms; epochs on disk after each start: " << fmt::format("{}", fmt::join(epochs_seen, " ")));
  REQUIRE(completed);
  CHECK(kills >= 5);
  CHECK(last_epoch == kEpochs);
  Job finished;
  REQUIRE(train::load_checkpoint(path, *finished.model, *finished.opt).at("epoch") == double(kEpochs));
  CHECK(same_bits(flat_state(finished), expected));
  // The comparison can tell a resume that is not exact: from epoch 15 without the generator state
  // (other dropout masks) the job ends elsewhere; with it, exactly at the reference.
  for (const bool restore_rng : {false, true}) {
    CAPTURE(restore_rng);
    Job resumed;
    manual_seed(999);
    const auto e = static_cast<std::int64_t>(
        train::load_checkpoint(dir.file("ref-15.safetensors"), *resumed.model, *resumed.opt, restore_rng).at("epoch"));
    REQUIRE(e == 15);
    train_from(resumed, ds, e, dir.path() + "/resumed-{epoch}.safetensors");
    CHECK(same_bits(flat_state(resumed), expected) == restore_rng);
  }
}
