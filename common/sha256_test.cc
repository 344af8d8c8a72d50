#include "common/sha256.h"

#include <gtest/gtest.h>

#include "common/atomic_file.h"

namespace ablate {
namespace {

// FIPS 180-2 test vectors.
TEST(Sha256Test, KnownVectors) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256Test, FileDigestMatchesBytesDigest) {
  auto path = std::filesystem::temp_directory_path() / "ablate_sha256_test.bin";
  std::string bytes(200000, 'x');
  ASSERT_TRUE(WriteFileAtomically(path, bytes).ok());
  auto digest = Sha256HexOfFile(path);
  ASSERT_TRUE(digest.ok());
  EXPECT_EQ(*digest, Sha256Hex(bytes));
  std::filesystem::remove(path);
}

TEST(Sha256Test, MissingFileIsNotFound) {
  auto digest = Sha256HexOfFile("/nonexistent/ablate/file");
  EXPECT_EQ(digest.status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace ablate
