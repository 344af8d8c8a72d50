#include "common/access_tokens.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "common/secret_file.h"

namespace ablate {
namespace {

TEST(TokenTableTest, ParsesRolesNamesCommentsAndBlankLines) {
  auto table = TokenTable::Parse(
      "# who may do what\n"
      "\n"
      "admin  0123456789abcdef0123 alice   # the owner\n"
      "worker\tfedcba9876543210fedc\n"
      "reader r-0123456789abcdef ci@lab\n",
      "tokens.txt");
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ(table->size(), 3u);
  auto admin = table->Find("0123456789abcdef0123");
  ASSERT_TRUE(admin.has_value());
  EXPECT_EQ(admin->role, Role::kAdmin);
  EXPECT_EQ(admin->name, "alice");
  auto worker = table->Find("fedcba9876543210fedc");
  ASSERT_TRUE(worker.has_value());
  EXPECT_EQ(worker->role, Role::kWorker);
  // Default name: role + first 4 hex digits of sha256("fedcba9876543210fedc") (computed with
  // `printf %s fedcba9876543210fedc | sha256sum`).
  EXPECT_EQ(worker->name, "worker-66eb");
  auto reader = table->Find("r-0123456789abcdef");
  ASSERT_TRUE(reader.has_value());
  EXPECT_EQ(reader->role, Role::kReader);
  EXPECT_EQ(reader->name, "ci@lab");
  EXPECT_FALSE(table->Find("0123456789abcdef012").has_value());  // a prefix is not the token
  EXPECT_FALSE(table->Find("").has_value());
}

TEST(TokenTableTest, ErrorsNameTheLineAndNeverTheToken) {
  struct Case {
    std::string text;
    std::string error;
  };
  const std::vector<Case> cases = {
      {"# nothing\n", "t: no tokens (expected lines `ROLE TOKEN [NAME]`)"},
      {"admin\n", "t line 1: expected `ROLE TOKEN [NAME]`, got 1 field(s)"},
      {"\nroot secret-secret-secret-1\n",
       "t line 2: unknown role 'root' (expected admin, worker or reader)"},
      {"admin short-secret\n",
       "t line 1: the token must be at least 16 printable characters (make one with: openssl "
       "rand -hex 32)"},
      {"admin secret-secret-secret-1 bad/name\n",
       "t line 1: name 'bad/name' may hold only letters, digits and . _ @ -"},
      {"admin secret-secret-secret-1 a b\n",
       "t line 1: expected `ROLE TOKEN [NAME]`, got 4 field(s)"},
      {"admin secret-secret-secret-1\nreader secret-secret-secret-1\n",
       "t line 2: the same token is already on line 1"},
      {"admin secret-secret-secret-1 x\nreader secret-secret-secret-2 x\n",
       "t line 2: name 'x' is already used on line 1"},
  };
  for (const Case& c : cases) {
    auto table = TokenTable::Parse(c.text, "t");
    ASSERT_FALSE(table.ok()) << c.text;
    EXPECT_EQ(table.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(table.status().message(), c.error);
    EXPECT_EQ(std::string(table.status().message()).find("secret-secret"), std::string::npos);
  }
}

TEST(TokenTableTest, BearerToken) {
  EXPECT_EQ(BearerToken("Bearer abc"), "abc");
  EXPECT_EQ(BearerToken("bearer   abc  "), "abc");
  EXPECT_EQ(BearerToken("BEARER abc"), "abc");
  EXPECT_FALSE(BearerToken("Basic abc").has_value());
  EXPECT_FALSE(BearerToken("Bearer ").has_value());
  EXPECT_FALSE(BearerToken("Bearerabc").has_value());
  EXPECT_FALSE(BearerToken("").has_value());
}

TEST(SecretFileTest, WarnsWhenOthersMayReadAndNamesMissingFiles) {
  const auto dir = std::filesystem::temp_directory_path() / "ablate_secret_file_test";
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "tokens").string();
  { std::ofstream(path) << "admin 0123456789abcdef0123\n"; }
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  std::string warning;
  auto table = TokenTable::Load(path, &warning);
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ(warning, "token file " + path +
                         " is readable by group or others (mode 0644); run: "
                         "chmod 600 " +
                         path);
  ASSERT_EQ(::chmod(path.c_str(), 0600), 0);
  ASSERT_TRUE(TokenTable::Load(path, &warning).ok());
  EXPECT_EQ(warning, "");
  auto missing = ReadSecretFile((dir / "nope").string(), "token file", nullptr);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(),
            "token file " + (dir / "nope").string() + ": No such file or directory");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace ablate
