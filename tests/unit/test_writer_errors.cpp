// Capture-file writer: system calls per batch, open errors, closed pipes, full disks.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <thread>
#include <cstring>

#include "rtcap/writer.hpp"
#include "test_writer_util.hpp"

namespace rtcap {
namespace {

using test::Expected;
using test::TempDir;

// ---- system calls ------------------------------------------------------------------------
// Counted by the kernel (/proc/thread-self/io syscw), not by the writer, so the test does not
// trust the code it checks. The writer's own write_calls() must agree.

TEST(WriterSyscalls, PacketBufferedIsOneWritePerBatch) {
  if (test::thread_write_syscalls() < 0)
    GTEST_SKIP() << "no /proc/thread-self/io (task I/O accounting)";
  for (bool pcapng : {false, true}) {
    TempDir dir;
    const std::string path = dir.file(pcapng ? "u.pcapng" : "u.pcap");
    WriterOptions o = test::options_for(path, TimestampPrecision::kNano);
    o.packet_buffered = true;
    auto w = CaptureWriter::open(o);
    ASSERT_TRUE(w) << w.error().message;
    std::vector<Expected> expected;
    Batch b(2048, 1 << 20);
    // 1 packet up to ~170 KiB serialised: all fit the 256 KiB buffer, so exactly one write each.
    for (std::size_t count : {1u, 2u, 17u, 100u, 600u, 1u, 250u}) {
      b.clear();
      test::fill(b, expected, expected.size(), count);
      const long long before = test::thread_write_syscalls();
      const std::uint64_t calls_before = (*w)->write_calls();
      ASSERT_TRUE((*w)->write(b));
      EXPECT_EQ(test::thread_write_syscalls() - before, 1) << count << " packets";
      EXPECT_EQ((*w)->write_calls() - calls_before, 1u);
      EXPECT_EQ((*w)->packets_written(), expected.size()) << "-U: nothing left in the buffer";
    }
    // And the data is all there before close: another reader sees it now.
    EXPECT_EQ(test::read_back(path, true).packets.size(), expected.size());
    ASSERT_TRUE((*w)->close());
  }
}

TEST(WriterSyscalls, BufferedWritesOnlyWhenTheBufferIsFull) {
  if (test::thread_write_syscalls() < 0)
    GTEST_SKIP() << "no /proc/thread-self/io (task I/O accounting)";
  TempDir dir;
  const std::string path = dir.file("b.pcap");
  WriterOptions o = test::options_for(path, TimestampPrecision::kNano);
  auto w = CaptureWriter::open(o);
  ASSERT_TRUE(w);
  std::vector<Expected> expected;
  Batch b(64, 1 << 16);
  const long long before = test::thread_write_syscalls();
  std::uint64_t record_bytes = 0;
  for (int i = 0; i < 500; ++i) {
    b.clear();
    const std::size_t first = expected.size();
    test::fill(b, expected, first, 10);
    for (std::size_t k = first; k < expected.size(); ++k)
      record_bytes += 16 + expected[k].bytes.size();
    ASSERT_TRUE((*w)->write(b));
    if (i == 0) {
      EXPECT_EQ(test::thread_write_syscalls(), before) << "first batch stays buffered";
    }
  }
  const long long writes = test::thread_write_syscalls() - before;
  // Each write carries at least buffer - largest record bytes.
  const long long most = static_cast<long long>(record_bytes / (o.buffer_bytes - 1530)) + 1;
  EXPECT_GE(writes, 1);
  EXPECT_LE(writes, most) << record_bytes << " bytes in " << writes << " writes";
  ASSERT_TRUE((*w)->close());
  EXPECT_EQ(test::read_back(path, true).packets.size(), expected.size());
}

TEST(Writer, FlushMakesBufferedPacketsVisible) {
  TempDir dir;
  const std::string path = dir.file("f.pcapng");
  auto w = CaptureWriter::open(test::options_for(path, TimestampPrecision::kMicro));
  ASSERT_TRUE(w);
  Batch b(16, 1 << 16);
  std::vector<Expected> expected;
  test::fill(b, expected, 0, 9);
  ASSERT_TRUE((*w)->write(b));
  EXPECT_EQ(test::read_back(path, false).packets.size(), 0u);
  EXPECT_EQ((*w)->packets_written(), 0u);
  ASSERT_TRUE((*w)->flush());  // what SIGUSR2 does
  EXPECT_EQ(test::read_back(path, false).packets.size(), 9u);
  EXPECT_EQ((*w)->packets_written(), 9u);
  ASSERT_TRUE((*w)->close());
}

TEST(Writer, WriteAfterCloseIsAnErrorAndCloseIsIdempotent) {
  TempDir dir;
  auto w = CaptureWriter::open(test::options_for(dir.file("c.pcap"), TimestampPrecision::kMicro));
  ASSERT_TRUE(w);
  ASSERT_TRUE((*w)->close());
  ASSERT_TRUE((*w)->close());
  Batch b(4, 4096);
  std::vector<Expected> expected;
  test::fill(b, expected, 0, 1);
  auto r = (*w)->write(b);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kIo);
  EXPECT_NE(r.error().message.find("closed"), std::string::npos) << r.error().message;
}

// "-" writes to standard output and leaves descriptor 1 open on close. In a child, so that
// the test's own standard output is untouched.
TEST(Writer, DashWritesToStandardOutputAndKeepsItOpen) {
  TempDir dir;
  const std::string path = dir.file("stdout.pcap");
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || ::dup2(fd, STDOUT_FILENO) < 0) ::_exit(2);
    ::close(fd);
    auto w = CaptureWriter::open(test::options_for("-", TimestampPrecision::kNano));
    if (!w) ::_exit(3);
    Batch b(16, 1 << 16);
    std::vector<Expected> expected;
    test::fill(b, expected, 0, 5);
    if (!(*w)->write(b) || !(*w)->close()) ::_exit(4);
    if (::fcntl(STDOUT_FILENO, F_GETFD) < 0) ::_exit(5);  // still open
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0);
  std::vector<Expected> expected;
  Batch b(16, 1 << 16);
  test::fill(b, expected, 0, 5);
  const auto got = test::read_back(path, true);
  ASSERT_EQ(got.packets.size(), 5u);
  for (std::size_t i = 0; i < 5; ++i) EXPECT_EQ(got.packets[i].bytes, expected[i].bytes);
}

// ---- open errors ---------------------------------------------------------------------------

TEST(WriterOpen, NoSuchDirectoryNamesPathAndFix) {
  TempDir dir;
  const std::string path = dir.file("missing/out.pcap");
  auto w = CaptureWriter::open(test::options_for(path, TimestampPrecision::kMicro));
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().code, ErrorCode::kIo);
  const std::string& m = w.error().message;
  EXPECT_NE(m.find(path), std::string::npos) << m;
  EXPECT_NE(m.find("no such directory"), std::string::npos) << m;
  EXPECT_NE(m.find("-w"), std::string::npos) << m;
  EXPECT_EQ(m.find('\n'), std::string::npos) << "one line";
}

TEST(WriterOpen, DirectoryAsPath) {
  TempDir dir;
  auto w = CaptureWriter::open(test::options_for(dir.path().string(), TimestampPrecision::kMicro));
  ASSERT_FALSE(w);
  EXPECT_NE(w.error().message.find("is a directory"), std::string::npos) << w.error().message;
}

TEST(WriterOpen, PermissionDeniedNamesPathAndFix) {
  TempDir dir;
  ASSERT_EQ(::chmod(dir.path().c_str(), 0555), 0);
  const std::string path = dir.file("out.pcap");
  std::string message;
  if (::geteuid() != 0) {
    auto w = CaptureWriter::open(test::options_for(path, TimestampPrecision::kMicro));
    ASSERT_FALSE(w);
    message = w.error().message;
  } else {
    // root ignores permissions; try as nobody in a child.
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(fds[0]);
      if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(2);
      auto w = CaptureWriter::open(test::options_for(path, TimestampPrecision::kMicro));
      const std::string m = w ? std::string("opened") : w.error().message;
      if (::write(fds[1], m.data(), m.size()) < 0) ::_exit(3);
      ::_exit(0);
    }
    ::close(fds[1]);
    char buf[1024];
    ssize_t n;
    while ((n = ::read(fds[0], buf, sizeof buf)) > 0)
      message.append(buf, static_cast<std::size_t>(n));
    ::close(fds[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child could not drop to nobody";
  }
  EXPECT_NE(message.find("permission denied"), std::string::npos) << message;
  EXPECT_NE(message.find(path), std::string::npos) << message;
}

// ---- closed pipe -----------------------------------------------------------------------------

class IgnoreSigpipe {
 public:
  IgnoreSigpipe() { old_ = std::signal(SIGPIPE, SIG_IGN); }
  ~IgnoreSigpipe() { std::signal(SIGPIPE, old_); }

 private:
  void (*old_)(int);
};

TEST(WriterPipe, ClosedReaderIsADistinctStickyError) {
  IgnoreSigpipe ignore;  // as the CLI does
  for (bool packet_buffered : {true, false}) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    // Opened by path while the read end is open (no reader would make open() block).
    WriterOptions o =
        test::options_for("/proc/self/fd/" + std::to_string(fds[1]), TimestampPrecision::kNano);
    o.packet_buffered = packet_buffered;
    auto w = CaptureWriter::open(o);
    ASSERT_TRUE(w) << w.error().message;
    ::close(fds[1]);
    ::close(fds[0]);  // the reader goes away (tcpdump -r - quit, head -c ..., etc.)

    Batch b(16, 1 << 16);
    std::vector<Expected> expected;
    test::fill(b, expected, 0, 5);
    Result<void> r = (*w)->write(b);
    if (!packet_buffered) {
      ASSERT_TRUE(r) << "buffered: nothing written yet";
      r = (*w)->flush();
    }
    ASSERT_FALSE(r);
    EXPECT_EQ((*w)->failure(), WriteFailure::kPipeClosed);
    EXPECT_EQ(r.error().code, ErrorCode::kIo);
    EXPECT_NE(r.error().message.find("output pipe closed by the reader"), std::string::npos)
        << r.error().message;

    const std::uint64_t calls = (*w)->write_calls();
    auto again = (*w)->write(b);
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().message, r.error().message);
    EXPECT_EQ((*w)->write_calls(), calls) << "no write after the error";
    EXPECT_FALSE((*w)->close());
  }
}

// ---- stalled reader (issue 13, item 2) ---------------------------------------------------------

std::int64_t steady_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// A reader that never reads: writes wait while there is no deadline, and give up at it (the
// pipe made non-blocking and waited on with poll, instead of blocking in write for ever).
TEST(WriterPipe, StalledReaderGivesUpAtTheDeadline) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  std::atomic<std::int64_t> give_up_at_ns{0};
  WriterOptions o =
      test::options_for("/proc/self/fd/" + std::to_string(fds[1]), TimestampPrecision::kNano);
  o.packet_buffered = true;
  o.give_up_at_ns = &give_up_at_ns;
  auto w = CaptureWriter::open(o);
  ASSERT_TRUE(w) << w.error().message;
  // A second thread sets the deadline while the writer waits, as the signal handler does.
  const std::int64_t set_at_ns = steady_now_ns() + 300000000;  // 300 ms
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    give_up_at_ns.store(set_at_ns);
  });
  Batch b(1024, 1 << 20);
  std::vector<Expected> expected;
  test::fill(b, expected, 0, 1000);  // more than the 64 KiB a pipe holds, over a few batches
  Result<void> r;
  int batches = 0;
  const std::int64_t start_ns = steady_now_ns();
  while (r && batches < 100) {
    r = (*w)->write(b);
    ++batches;
  }
  const std::int64_t took_ns = steady_now_ns() - start_ns;
  stopper.join();
  ASSERT_FALSE(r) << "a pipe nobody reads took " << batches << " batches";
  EXPECT_EQ((*w)->failure(), WriteFailure::kStalled);
  EXPECT_NE(r.error().message.find("took no data until the stop deadline"), std::string::npos)
      << r.error().message;
  EXPECT_GE(steady_now_ns(), set_at_ns) << "gave up before the deadline";
  // The deadline plus at most one 100 ms poll slice, and slack for a loaded machine.
  EXPECT_LT(took_ns, 1500000000) << "gave up only after " << took_ns / 1000000 << " ms";
  // Whole records counted: the reader finds exactly packets_written() of them, maybe a cut one.
  EXPECT_GT((*w)->packets_written(), 0u);
  EXPECT_LT((*w)->packets_written(), std::uint64_t(batches) * 1000);
  (void)(*w)->close();
  ::close(fds[0]);
  ::close(fds[1]);
}

// ---- full disk -------------------------------------------------------------------------------

// A 64 KiB tmpfs mounted on a temporary directory; unmounted in the destructor, also when an
// assertion fails.
class TinyTmpfs {
 public:
  TinyTmpfs() {
    mounted_ = ::mount("tmpfs", dir_.path().c_str(), "tmpfs", MS_NOSUID | MS_NODEV,
                       "size=64k,mode=0700") == 0;
    if (!mounted_) error_ = std::strerror(errno);
  }
  ~TinyTmpfs() {
    if (mounted_) ::umount2(dir_.path().c_str(), MNT_DETACH);
  }
  TinyTmpfs(const TinyTmpfs&) = delete;
  TinyTmpfs& operator=(const TinyTmpfs&) = delete;
  [[nodiscard]] bool mounted() const { return mounted_; }
  [[nodiscard]] const std::string& error() const { return error_; }
  [[nodiscard]] std::string file(const std::string& n) const { return dir_.file(n); }

 private:
  TempDir dir_;
  bool mounted_ = false;
  std::string error_;
};

struct DiskFullCase {
  bool pcapng;
  std::size_t buffer_bytes;
  bool packet_buffered;
};

class WriterDiskFull : public ::testing::TestWithParam<DiskFullCase> {};

TEST_P(WriterDiskFull, ClearErrorAndFileEndsOnLastWholeRecord) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to mount a tiny tmpfs";
  TinyTmpfs fs;
  if (!fs.mounted()) GTEST_SKIP() << "cannot mount tmpfs here: " << fs.error();
  const DiskFullCase c = GetParam();
  const std::string path = fs.file(c.pcapng ? "full.pcapng" : "full.pcap");
  WriterOptions o = test::options_for(path, TimestampPrecision::kNano);
  o.buffer_bytes = c.buffer_bytes;
  o.packet_buffered = c.packet_buffered;
  auto w = CaptureWriter::open(o);
  ASSERT_TRUE(w) << w.error().message;

  std::vector<Expected> expected;
  Batch b(64, 1 << 16);
  Result<void> r;
  for (int i = 0; i < 1000 && r; ++i) {  // 64 KiB fill up within ~30 batches
    b.clear();
    test::fill(b, expected, expected.size(), 20);
    r = (*w)->write(b);
  }
  if (r) r = (*w)->flush();
  ASSERT_FALSE(r) << "the 64 KiB filesystem never filled up";
  EXPECT_EQ((*w)->failure(), WriteFailure::kDiskFull);
  EXPECT_EQ(r.error().code, ErrorCode::kIo);
  EXPECT_EQ(r.error().message,
            "disk full writing " + path + ": free space or choose another -w path");

  const std::uint64_t calls = (*w)->write_calls();
  auto again = (*w)->write(b);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().message, r.error().message) << "sticky";
  EXPECT_EQ((*w)->write_calls(), calls);
  EXPECT_FALSE((*w)->close());

  // Every whole record is there, byte for byte, and nothing after the last one.
  const auto got = test::read_back(path, true);
  ASSERT_TRUE(got.open_error.empty()) << got.open_error;
  EXPECT_EQ(got.end_status, PCAP_ERROR_BREAK) << "truncated tail: " << got.end_error;
  EXPECT_GT(got.packets.size(), 100u);
  EXPECT_EQ(got.packets.size(), (*w)->packets_written());
  EXPECT_EQ(std::filesystem::file_size(path), (*w)->bytes_written());
  ASSERT_LE(got.packets.size(), expected.size());
  for (std::size_t i = 0; i < got.packets.size(); ++i) {
    ASSERT_EQ(got.packets[i].bytes, expected[i].bytes) << "packet " << i;
    ASSERT_EQ(got.packets[i].len, expected[i].wire_len) << "packet " << i;
  }
  if (test::have_program("tshark")) {
    int status = 0;
    const auto out = test::lines(
        test::run("tshark -r " + path + " -T fields -e frame.number 2>/dev/null", &status));
    EXPECT_EQ(status, 0) << (out.empty() ? "" : out.back());
    EXPECT_EQ(out.size(), got.packets.size());
  }
}

INSTANTIATE_TEST_SUITE_P(
    Formats, WriterDiskFull,
    ::testing::Values(DiskFullCase{false, 256 * 1024, false}, DiskFullCase{false, 4096, false},
                      DiskFullCase{false, 256 * 1024, true}, DiskFullCase{true, 256 * 1024, false},
                      DiskFullCase{true, 4096, false}, DiskFullCase{true, 256 * 1024, true}),
    [](const auto& info) {
      const DiskFullCase& c = info.param;
      return std::string(c.pcapng ? "pcapng" : "pcap") +
             (c.buffer_bytes < 65536 ? "_smallbuf" : "_bigbuf") + (c.packet_buffered ? "_U" : "");
    });

}  // namespace
}  // namespace rtcap
