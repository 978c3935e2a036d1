// Outputs opened without following links (platform/file_output.hpp): a symbolic link or a hard
// link planted where an output goes is refused and what it points to is left alone.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

#include "platform/file_output.hpp"

namespace platform = rtcap::platform;

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    char t[] = "/tmp/rtcap-nofollow-XXXXXX";
    path = mkdtemp(t);
  }
  ~TempDir() { (void)std::system(("rm -rf '" + path + "'").c_str()); }
};

std::string read_all(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

void write_all(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

}  // namespace

TEST(FileOutput, RefusesASymbolicLinkAndLeavesItsTarget) {
  TempDir d;
  write_all(d.path + "/victim", "precious");
  ASSERT_EQ(::symlink((d.path + "/victim").c_str(), (d.path + "/out.wav").c_str()), 0);
  auto dir = platform::open_output_directory(d.path);
  ASSERT_TRUE(dir) << dir.error().message;
  for (auto mode : {platform::OutputOpen::kTruncate, platform::OutputOpen::kExclusive}) {
    auto fd = platform::open_output_nofollow(*dir, "out.wav", mode);
    ASSERT_FALSE(fd);
    EXPECT_NE(fd.error().message.find("out.wav"), std::string::npos) << fd.error().message;
  }
  // Also as a whole path relative to the working directory (-w FILE).
  EXPECT_FALSE(platform::open_output_nofollow(platform::kWorkingDirectory, d.path + "/out.wav",
                                              platform::OutputOpen::kTruncate));
  EXPECT_EQ(read_all(d.path + "/victim"), "precious");
  platform::close_output_directory(*dir);
}

TEST(FileOutput, RefusesAHardLinkToAnotherFile) {
  TempDir d;
  write_all(d.path + "/victim", "precious");
  ASSERT_EQ(::link((d.path + "/victim").c_str(), (d.path + "/out.wav").c_str()), 0);
  auto dir = platform::open_output_directory(d.path);
  ASSERT_TRUE(dir);
  EXPECT_FALSE(platform::open_output_nofollow(*dir, "out.wav", platform::OutputOpen::kTruncate));
  EXPECT_EQ(read_all(d.path + "/victim"), "precious");
  platform::close_output_directory(*dir);
}

TEST(FileOutput, TruncatesItsOwnFileAndCreatesExclusively) {
  TempDir d;
  write_all(d.path + "/out.wav", "old contents");
  auto dir = platform::open_output_directory(d.path);
  ASSERT_TRUE(dir);
  auto fd = platform::open_output_nofollow(*dir, "out.wav", platform::OutputOpen::kTruncate);
  ASSERT_TRUE(fd) << fd.error().message;
  ASSERT_EQ(::write(*fd, "new", 3), 3);
  ::close(*fd);
  EXPECT_EQ(read_all(d.path + "/out.wav"), "new");
  EXPECT_FALSE(platform::open_output_nofollow(*dir, "out.wav", platform::OutputOpen::kExclusive));
  auto probe = platform::open_output_nofollow(*dir, "probe", platform::OutputOpen::kExclusive);
  ASSERT_TRUE(probe);
  ::close(*probe);
  EXPECT_EQ(platform::remove_output(*dir, "probe"), 0);
  EXPECT_NE(::access((d.path + "/probe").c_str(), F_OK), 0);
  // A character device is written as it is (-w /dev/null).
  auto null = platform::open_output_nofollow(platform::kWorkingDirectory, "/dev/null",
                                             platform::OutputOpen::kTruncate);
  ASSERT_TRUE(null) << null.error().message;
  ::close(*null);
  platform::close_output_directory(*dir);
}

TEST(FileOutput, RootRefusesAWorldWritableDirectoryWithoutStickyBit) {
  TempDir d;
  ASSERT_EQ(::chmod(d.path.c_str(), 0777), 0);
  auto dir = platform::open_output_directory(d.path);
  if (::geteuid() == 0) {
    ASSERT_FALSE(dir);
    EXPECT_NE(dir.error().message.find("sticky"), std::string::npos) << dir.error().message;
  } else {
    EXPECT_TRUE(dir);  // anyone else writes only what they may write anyway
    if (dir) platform::close_output_directory(*dir);
  }
  ASSERT_EQ(::chmod(d.path.c_str(), 01777), 0);
  auto sticky = platform::open_output_directory(d.path);
  ASSERT_TRUE(sticky) << sticky.error().message;
  platform::close_output_directory(*sticky);
  EXPECT_FALSE(platform::open_output_directory(d.path + "/missing"));
}
