// OutputFile: a regular file is replaced whole through a temporary name, a symbolic link's
// target is replaced and the link kept, a named pipe or a device is written in place, and a
// failed write is an error that leaves no temporary file behind.
#include "output_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "cli_harness.h"
#include "full_device.h"

namespace mdfetch {
namespace {

namespace fs = std::filesystem;

class OutputFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::path(::testing::TempDir()) /
           ("mdfetch_output_" + std::string(info->name()) + "_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // The names in the folder, so a test sees that no temporary file was left.
  std::vector<std::string> Names() {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir_)) {
      names.push_back(entry.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
  }
  std::string Path(const char* name) { return (dir_ / name).string(); }

  static Status WriteAll(const std::string& path, std::string_view text, std::FILE* std_out) {
    auto file = OutputFile::Open(path, std_out);
    if (!file) return std::unexpected(file.error());
    (*file)->Write(text);
    return (*file)->Commit();
  }

  fs::path dir_;
};

TEST_F(OutputFileTest, ANewFileIsWrittenBesideItsNameAndRenamed) {
  const std::string path = Path("out.csv");
  auto file = OutputFile::Open(path, stdout);
  ASSERT_TRUE(file) << file.error().message;
  EXPECT_TRUE((*file)->replaces());
  EXPECT_TRUE((*file)->Write("a,b\r\n"));
  EXPECT_FALSE(fs::exists(path));  // nothing under the final name until it is whole
  ASSERT_EQ(Names().size(), 1u);
  EXPECT_TRUE(Names()[0].starts_with("out.csv.tmp-")) << Names()[0];
  ASSERT_TRUE((*file)->Commit());
  EXPECT_EQ(ReadFileBytes(path), "a,b\r\n");
  EXPECT_EQ(Names(), std::vector<std::string>{"out.csv"});
}

TEST_F(OutputFileTest, AnExistingFileIsReplacedAndKeepsItsMode) {
  const std::string path = Path("out.csv");
  std::ofstream(path) << "old data that is longer than the new";
  fs::permissions(path, fs::perms(0640));
  ASSERT_TRUE(WriteAll(path, "new", stdout));
  EXPECT_EQ(ReadFileBytes(path), "new");
  EXPECT_EQ(fs::status(path).permissions() & fs::perms::all, fs::perms(0640));
  EXPECT_EQ(Names(), std::vector<std::string>{"out.csv"});
}

TEST_F(OutputFileTest, ASymbolicLinkIsFollowedAndItsTargetReplaced) {
  const std::string target = Path("target.csv");
  const std::string link = Path("link.csv");
  std::ofstream(target) << "old";
  fs::create_symlink("target.csv", link);  // relative: resolved from the link's folder
  ASSERT_TRUE(WriteAll(link, "new", stdout));
  EXPECT_TRUE(fs::is_symlink(link));
  EXPECT_EQ(ReadFileBytes(target), "new");
  EXPECT_EQ(Names(), (std::vector<std::string>{"link.csv", "target.csv"}));
}

TEST_F(OutputFileTest, ADanglingSymbolicLinkGetsItsTargetCreated) {
  const std::string link = Path("link.csv");
  fs::create_symlink(Path("made.csv"), link);
  ASSERT_TRUE(WriteAll(link, "new", stdout));
  EXPECT_TRUE(fs::is_symlink(link));
  EXPECT_EQ(ReadFileBytes(Path("made.csv")), "new");
}

TEST_F(OutputFileTest, ANamedPipeIsWrittenInPlaceForItsReader) {
  const std::string fifo = Path("pipe");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::string received;
  std::thread reader([&] { received = ReadFileBytes(fifo); });
  Status written = WriteAll(fifo, "through the pipe\n", stdout);
  reader.join();
  ASSERT_TRUE(written) << written.error().message;
  EXPECT_EQ(received, "through the pipe\n");
  struct stat st {};
  ASSERT_EQ(::lstat(fifo.c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));  // still a pipe, not a file
  EXPECT_EQ(Names(), std::vector<std::string>{"pipe"});
}

TEST_F(OutputFileTest, DevNullIsWrittenInPlaceAndStaysADevice) {
  auto file = OutputFile::Open("/dev/null", stdout);
  ASSERT_TRUE(file) << file.error().message;
  EXPECT_FALSE((*file)->replaces());
  EXPECT_TRUE((*file)->Write("nothing"));
  ASSERT_TRUE((*file)->Commit());
  EXPECT_TRUE(fs::is_character_file("/dev/null"));
}

TEST_F(OutputFileTest, AFullDeviceIsAWriteErrorAndStaysADevice) {
  const std::optional<std::string> full = FullDevice(dir_);
  if (!full) GTEST_SKIP() << "no full device here (as root: mknod refused)";
  auto file = OutputFile::Open(*full, stdout);
  ASSERT_TRUE(file) << file.error().message;
  (*file)->Write(std::string(100000, 'x'));
  Status written = (*file)->Commit();
  ASSERT_FALSE(written);
  EXPECT_EQ(written.error().message, "cannot write '" + *full + "': No space left on device");
  EXPECT_TRUE(fs::is_character_file(*full));
}

TEST_F(OutputFileTest, AFullDeviceBehindALinkIsAnErrorAndTheLinkStays) {
  const std::optional<std::string> full = FullDevice(dir_);
  if (!full) GTEST_SKIP() << "no full device here (as root: mknod refused)";
  const std::string link = Path("full.csv");
  fs::create_symlink(*full, link);
  Status written = WriteAll(link, "x", stdout);
  ASSERT_FALSE(written);
  EXPECT_EQ(written.error().message, "cannot write '" + link + "': No space left on device");
  EXPECT_TRUE(fs::is_symlink(link));
  EXPECT_TRUE(fs::is_character_file(*full));
}

TEST_F(OutputFileTest, DashAndDevStdoutAreTheStreamHandedIn) {
  for (const char* path : {"-", "/dev/stdout", "/dev/fd/1", "/proc/self/fd/1"}) {
    std::FILE* out = std::tmpfile();
    ASSERT_TRUE(WriteAll(path, "to stdout", out)) << path;
    EXPECT_EQ(ReadStream(out), "to stdout") << path;
    std::fclose(out);
  }
  EXPECT_TRUE(fs::is_symlink("/dev/stdout") || fs::exists("/dev/stdout"));
}

TEST_F(OutputFileTest, AnAbandonedOrDroppedFileLeavesTheOldOneAndNoTemporary) {
  const std::string path = Path("out.csv");
  std::ofstream(path) << "old";
  {
    auto file = OutputFile::Open(path, stdout);
    ASSERT_TRUE(file);
    (*file)->Write("half");
    (*file)->Abandon();
  }
  {
    auto file = OutputFile::Open(path, stdout);
    ASSERT_TRUE(file);
    (*file)->Write("half");
  }  // destroyed without Commit
  EXPECT_EQ(ReadFileBytes(path), "old");
  EXPECT_EQ(Names(), std::vector<std::string>{"out.csv"});
}

TEST_F(OutputFileTest, ADirectoryOrAMissingFolderIsRefusedByName) {
  auto dir = OutputFile::Open(dir_.string(), stdout);
  ASSERT_FALSE(dir);
  EXPECT_EQ(dir.error().message, "cannot write '" + dir_.string() + "': is a directory");
  const std::string missing = Path("no/such/out.csv");
  auto file = OutputFile::Open(missing, stdout);
  ASSERT_FALSE(file);
  EXPECT_EQ(file.error().message, "cannot write '" + missing + "': No such file or directory");
}

}  // namespace
}  // namespace mdfetch
