#include "detector/torch_pickle.h"

#include <cstring>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace ablate::detector {
namespace {

using Kind = PickleValue::Kind;

PickleValuePtr Make(Kind kind) {
  auto v = std::make_shared<PickleValue>();
  v->kind = kind;
  return v;
}

struct StorageType {
  const char* dtype;
  int element_size;
};

// torch.<Name>Storage -> dtype.
const std::map<std::string, StorageType>& StorageTypes() {
  static const auto* types = new std::map<std::string, StorageType>{
      {"FloatStorage", {"float32", 4}}, {"DoubleStorage", {"float64", 8}},
      {"HalfStorage", {"float16", 2}},  {"BFloat16Storage", {"bfloat16", 2}},
      {"LongStorage", {"int64", 8}},    {"IntStorage", {"int32", 4}},
      {"ShortStorage", {"int16", 2}},   {"CharStorage", {"int8", 1}},
      {"ByteStorage", {"uint8", 1}},    {"BoolStorage", {"bool", 1}},
  };
  return *types;
}

const char* KindName(Kind k) {
  switch (k) {
    case Kind::kNone:
      return "None";
    case Kind::kBool:
      return "bool";
    case Kind::kInt:
      return "int";
    case Kind::kBigInt:
      return "int";
    case Kind::kFloat:
      return "float";
    case Kind::kString:
      return "str";
    case Kind::kTuple:
      return "tuple";
    case Kind::kList:
      return "list";
    case Kind::kDict:
      return "dict";
    case Kind::kSet:
      return "set";
    case Kind::kGlobal:
      return "class";
    case Kind::kStorage:
      return "storage";
    case Kind::kTensor:
      return "tensor";
  }
  return "?";
}

class Parser {
 public:
  Parser(std::string_view bytes, size_t offset, const std::string& source)
      : bytes_(bytes), pos_(offset), source_(source) {}

  StatusOr<PickleValuePtr> Run(size_t* end) {
    while (true) {
      op_pos_ = pos_;
      ABLATE_ASSIGN_OR_RETURN(uint8_t op, U8());
      switch (op) {
        case 0x80: {  // PROTO
          ABLATE_ASSIGN_OR_RETURN(uint8_t proto, U8());
          if (proto > 5) return Error(absl::StrCat("pickle protocol ", proto));
          break;
        }
        case 0x95:  // FRAME (protocol 4): an 8-byte length we do not need
          ABLATE_RETURN_IF_ERROR(Take(8).status());
          break;
        case '.':  // STOP
          if (stack_.size() != 1 || !marks_.empty()) return Error("STOP with an unbalanced stack");
          *end = pos_;
          return stack_.back();
        case 'N':
          Push(Make(Kind::kNone));
          break;
        case 0x88:
        case 0x89: {  // NEWTRUE / NEWFALSE
          auto v = Make(Kind::kBool);
          v->int_value = op == 0x88;
          Push(v);
          break;
        }
        case 'J': {  // BININT
          ABLATE_ASSIGN_OR_RETURN(std::string_view b, Take(4));
          int32_t x;
          std::memcpy(&x, b.data(), 4);
          PushInt(x);
          break;
        }
        case 'K': {  // BININT1
          ABLATE_ASSIGN_OR_RETURN(uint8_t x, U8());
          PushInt(x);
          break;
        }
        case 'M': {  // BININT2
          ABLATE_ASSIGN_OR_RETURN(std::string_view b, Take(2));
          PushInt(static_cast<uint8_t>(b[0]) | (static_cast<uint8_t>(b[1]) << 8));
          break;
        }
        case 0x8a:
        case 0x8b: {  // LONG1 / LONG4
          uint64_t n;
          if (op == 0x8a) {
            ABLATE_ASSIGN_OR_RETURN(uint8_t n8, U8());
            n = n8;
          } else {
            ABLATE_ASSIGN_OR_RETURN(n, U32());
          }
          ABLATE_ASSIGN_OR_RETURN(std::string_view b, Take(n));
          if (n > 8) {
            auto v = Make(Kind::kBigInt);
            v->text = std::string(b);
            Push(v);
          } else {
            uint64_t x = 0;
            for (size_t i = 0; i < n; ++i)
              x |= static_cast<uint64_t>(static_cast<uint8_t>(b[i])) << (8 * i);
            if (n > 0 && n < 8 && (static_cast<uint8_t>(b[n - 1]) & 0x80))
              x |= ~uint64_t{0} << (8 * n);
            PushInt(static_cast<int64_t>(x));
          }
          break;
        }
        case 'G': {  // BINFLOAT, big-endian
          ABLATE_ASSIGN_OR_RETURN(std::string_view b, Take(8));
          uint64_t bits = 0;
          for (int i = 0; i < 8; ++i) bits = (bits << 8) | static_cast<uint8_t>(b[i]);
          auto v = Make(Kind::kFloat);
          std::memcpy(&v->float_value, &bits, 8);
          Push(v);
          break;
        }
        case 'X':    // BINUNICODE
        case 'T':    // BINSTRING
        case 'B': {  // BINBYTES
          ABLATE_ASSIGN_OR_RETURN(uint32_t n, U32());
          ABLATE_RETURN_IF_ERROR(PushString(n));
          break;
        }
        case 0x8c:   // SHORT_BINUNICODE
        case 'U':    // SHORT_BINSTRING
        case 'C': {  // SHORT_BINBYTES
          ABLATE_ASSIGN_OR_RETURN(uint8_t n, U8());
          ABLATE_RETURN_IF_ERROR(PushString(n));
          break;
        }
        case '}':
          Push(Make(Kind::kDict));
          break;
        case ']':
          Push(Make(Kind::kList));
          break;
        case ')':
          Push(Make(Kind::kTuple));
          break;
        case 0x8f:
          Push(Make(Kind::kSet));
          break;
        case '(':
          marks_.push_back(stack_.size());
          break;
        case 't': {  // TUPLE
          ABLATE_ASSIGN_OR_RETURN(auto items, PopMark());
          auto v = Make(Kind::kTuple);
          v->items = std::move(items);
          Push(v);
          break;
        }
        case 0x85:
        case 0x86:
        case 0x87: {  // TUPLE1..3
          const size_t n = op - 0x84;
          if (stack_.size() < StackFloor() + n) return Error("TUPLE on a short stack");
          auto v = Make(Kind::kTuple);
          v->items.assign(stack_.end() - n, stack_.end());
          stack_.resize(stack_.size() - n);
          Push(v);
          break;
        }
        case 'a': {  // APPEND
          ABLATE_ASSIGN_OR_RETURN(PickleValuePtr x, Pop());
          ABLATE_ASSIGN_OR_RETURN(PickleValuePtr list, Top(Kind::kList));
          list->items.push_back(x);
          break;
        }
        case 'e':     // APPENDS
        case 0x90: {  // ADDITEMS
          ABLATE_ASSIGN_OR_RETURN(auto items, PopMark());
          ABLATE_ASSIGN_OR_RETURN(PickleValuePtr target, Top(op == 'e' ? Kind::kList : Kind::kSet));
          for (auto& x : items) target->items.push_back(x);
          break;
        }
        case 's': {  // SETITEM
          ABLATE_ASSIGN_OR_RETURN(PickleValuePtr value, Pop());
          ABLATE_ASSIGN_OR_RETURN(PickleValuePtr key, Pop());
          ABLATE_ASSIGN_OR_RETURN(PickleValuePtr dict, Top(Kind::kDict));
          dict->items.push_back(key);
          dict->items.push_back(value);
          break;
        }
        case 'u': {  // SETITEMS
          ABLATE_ASSIGN_OR_RETURN(auto items, PopMark());
          if (items.size() % 2) return Error("SETITEMS with an odd number of items");
          ABLATE_ASSIGN_OR_RETURN(PickleValuePtr dict, Top(Kind::kDict));
          for (auto& x : items) dict->items.push_back(x);
          break;
        }
        case 'q': {  // BINPUT
          ABLATE_ASSIGN_OR_RETURN(uint8_t i, U8());
          ABLATE_RETURN_IF_ERROR(Memoize(i));
          break;
        }
        case 'r': {  // LONG_BINPUT
          ABLATE_ASSIGN_OR_RETURN(uint32_t i, U32());
          ABLATE_RETURN_IF_ERROR(Memoize(i));
          break;
        }
        case 0x94:  // MEMOIZE
          ABLATE_RETURN_IF_ERROR(Memoize(memo_.size()));
          break;
        case 'h': {  // BINGET
          ABLATE_ASSIGN_OR_RETURN(uint8_t i, U8());
          ABLATE_RETURN_IF_ERROR(Recall(i));
          break;
        }
        case 'j': {  // LONG_BINGET
          ABLATE_ASSIGN_OR_RETURN(uint32_t i, U32());
          ABLATE_RETURN_IF_ERROR(Recall(i));
          break;
        }
        case 'c': {  // GLOBAL "module\nname\n"
          ABLATE_ASSIGN_OR_RETURN(std::string module, Line());
          ABLATE_ASSIGN_OR_RETURN(std::string name, Line());
          auto v = Make(Kind::kGlobal);
          v->text = module + "." + name;
          Push(v);
          break;
        }
        case 0x93: {  // STACK_GLOBAL
          ABLATE_ASSIGN_OR_RETURN(PickleValuePtr name, Pop());
          ABLATE_ASSIGN_OR_RETURN(PickleValuePtr module, Pop());
          if (name->kind != Kind::kString || module->kind != Kind::kString) {
            return Error("STACK_GLOBAL needs two strings");
          }
          auto v = Make(Kind::kGlobal);
          v->text = module->text + "." + name->text;
          Push(v);
          break;
        }
        case 'Q': {  // BINPERSID
          ABLATE_ASSIGN_OR_RETURN(PickleValuePtr pid, Pop());
          ABLATE_ASSIGN_OR_RETURN(PickleValuePtr storage, Storage(*pid));
          Push(storage);
          break;
        }
        case 'R': {  // REDUCE
          ABLATE_ASSIGN_OR_RETURN(PickleValuePtr args, Pop());
          ABLATE_ASSIGN_OR_RETURN(PickleValuePtr callable, Pop());
          ABLATE_ASSIGN_OR_RETURN(PickleValuePtr result, Reduce(*callable, *args));
          Push(result);
          break;
        }
        case 'b': {  // BUILD: only the state of an OrderedDict (its _metadata) or a tensor
          ABLATE_ASSIGN_OR_RETURN(PickleValuePtr state, Pop());
          ABLATE_ASSIGN_OR_RETURN(PickleValuePtr object, Pop());
          if (object->kind != Kind::kDict && object->kind != Kind::kTensor) {
            return Error(absl::StrCat("BUILD on a ", KindName(object->kind)));
          }
          (void)state;
          Push(object);
          break;
        }
        default:
          return Error(absl::StrFormat("unsupported pickle opcode 0x%02x", op));
      }
    }
  }

 private:
  Status Error(const std::string& what) const {
    return absl::DataLossError(absl::StrCat(source_, ": ", what, " at byte ", op_pos_));
  }
  StatusOr<std::string_view> Take(uint64_t n) {
    if (n > bytes_.size() - pos_) {
      return absl::DataLossError(absl::StrCat(source_, ": truncated (", n, " bytes wanted at byte ",
                                              pos_, ", file has ", bytes_.size(), ")"));
    }
    std::string_view out = bytes_.substr(pos_, n);
    pos_ += n;
    return out;
  }
  StatusOr<uint8_t> U8() {
    ABLATE_ASSIGN_OR_RETURN(std::string_view b, Take(1));
    return static_cast<uint8_t>(b[0]);
  }
  StatusOr<uint32_t> U32() {
    ABLATE_ASSIGN_OR_RETURN(std::string_view b, Take(4));
    uint32_t x = 0;
    for (int i = 3; i >= 0; --i) x = (x << 8) | static_cast<uint8_t>(b[i]);
    return x;
  }
  StatusOr<std::string> Line() {
    const size_t nl = bytes_.find('\n', pos_);
    if (nl == std::string_view::npos) {
      return absl::DataLossError(absl::StrCat(source_, ": truncated (GLOBAL at byte ", op_pos_,
                                              ", file has ", bytes_.size(), " bytes)"));
    }
    if (nl - pos_ > 256) return Error("GLOBAL name longer than 256 bytes");
    std::string out(bytes_.substr(pos_, nl - pos_));
    pos_ = nl + 1;
    return out;
  }
  Status PushString(uint64_t n) {
    ABLATE_ASSIGN_OR_RETURN(std::string_view b, Take(n));
    auto v = Make(Kind::kString);
    v->text = std::string(b);
    Push(v);
    return absl::OkStatus();
  }
  void PushInt(int64_t x) {
    auto v = Make(Kind::kInt);
    v->int_value = x;
    Push(v);
  }
  void Push(PickleValuePtr v) { stack_.push_back(std::move(v)); }
  size_t StackFloor() const { return marks_.empty() ? 0 : marks_.back(); }
  StatusOr<PickleValuePtr> Pop() {
    if (stack_.size() <= StackFloor()) return Error("pop from an empty stack");
    PickleValuePtr v = std::move(stack_.back());
    stack_.pop_back();
    return v;
  }
  StatusOr<PickleValuePtr> Top(Kind kind) {
    if (stack_.size() <= StackFloor()) return Error("empty stack");
    if (stack_.back()->kind != kind) {
      return Error(
          absl::StrCat("expected a ", KindName(kind), ", found a ", KindName(stack_.back()->kind)));
    }
    return stack_.back();
  }
  StatusOr<std::vector<PickleValuePtr>> PopMark() {
    if (marks_.empty()) return Error("no MARK");
    const size_t mark = marks_.back();
    marks_.pop_back();
    std::vector<PickleValuePtr> items(stack_.begin() + mark, stack_.end());
    stack_.resize(mark);
    return items;
  }
  Status Memoize(size_t index) {
    if (stack_.empty()) return Error("PUT on an empty stack");
    if (index > (1u << 24)) return Error("memo index too large");
    if (memo_.size() <= index) memo_.resize(index + 1);
    memo_[index] = stack_.back();
    return absl::OkStatus();
  }
  Status Recall(size_t index) {
    if (index >= memo_.size() || !memo_[index])
      return Error(absl::StrCat("GET of unset memo ", index));
    Push(memo_[index]);
    return absl::OkStatus();
  }

  // ('storage', torch.FloatStorage, key, location, numel[, view_metadata]).
  StatusOr<PickleValuePtr> Storage(const PickleValue& pid) {
    const auto& it = pid.items;
    if (pid.kind != Kind::kTuple || it.size() < 5 || it[0]->kind != Kind::kString ||
        it[0]->text != "storage" || it[1]->kind != Kind::kGlobal || it[2]->kind != Kind::kString ||
        it[4]->kind != Kind::kInt) {
      return Error("persistent id is not ('storage', type, key, location, numel)");
    }
    if (it.size() > 5 && it[5]->kind != Kind::kNone) {
      return Error("storage views (view_metadata) are not supported");
    }
    std::string type = it[1]->text;
    for (const char* prefix : {"torch.cuda.", "torch."}) {
      if (type.rfind(prefix, 0) == 0) {
        type = type.substr(std::strlen(prefix));
        break;
      }
    }
    auto found = StorageTypes().find(type);
    if (found == StorageTypes().end()) {
      return Error("unsupported storage type " + it[1]->text);
    }
    auto v = Make(Kind::kStorage);
    v->tensor.storage_key = it[2]->text;
    v->tensor.dtype = found->second.dtype;
    v->tensor.element_size = found->second.element_size;
    v->tensor.storage_numel = it[4]->int_value;
    if (v->tensor.storage_numel < 0) return Error("negative storage size");
    return v;
  }

  StatusOr<std::vector<int64_t>> IntTuple(const PickleValue& v, const char* what) {
    if (v.kind != Kind::kTuple) return Error(absl::StrCat("tensor ", what, " is not a tuple"));
    std::vector<int64_t> out;
    for (const auto& x : v.items) {
      if (x->kind != Kind::kInt) return Error(absl::StrCat("tensor ", what, " is not all ints"));
      out.push_back(x->int_value);
    }
    return out;
  }

  StatusOr<PickleValuePtr> Reduce(const PickleValue& callable, const PickleValue& args) {
    if (callable.kind != Kind::kGlobal) return Error("REDUCE of a non-class");
    if (args.kind != Kind::kTuple) return Error("REDUCE arguments are not a tuple");
    const std::string& name = callable.text;
    const auto& a = args.items;
    if (name == "collections.OrderedDict") {
      auto v = Make(Kind::kDict);
      if (!a.empty()) {  // OrderedDict([(k, v), ...])
        if (a.size() != 1 || a[0]->kind != Kind::kList) return Error("OrderedDict(...) arguments");
        for (const auto& pair : a[0]->items) {
          if (pair->items.size() != 2) return Error("OrderedDict item is not a pair");
          v->items.push_back(pair->items[0]);
          v->items.push_back(pair->items[1]);
        }
      }
      return v;
    }
    if (name == "torch._utils._rebuild_tensor_v2" || name == "torch._utils._rebuild_tensor") {
      if (a.size() < 4 || a[0]->kind != Kind::kStorage || a[1]->kind != Kind::kInt) {
        return Error(name + " arguments are not (storage, offset, size, stride, ...)");
      }
      auto v = Make(Kind::kTensor);
      v->tensor = a[0]->tensor;
      v->tensor.storage_offset = a[1]->int_value;
      ABLATE_ASSIGN_OR_RETURN(v->tensor.sizes, IntTuple(*a[2], "size"));
      ABLATE_ASSIGN_OR_RETURN(v->tensor.strides, IntTuple(*a[3], "stride"));
      if (v->tensor.sizes.size() != v->tensor.strides.size()) {
        return Error("tensor size and stride differ in length");
      }
      return v;
    }
    if (name == "torch._utils._rebuild_parameter") {
      if (a.empty() || a[0]->kind != Kind::kTensor) return Error(name + " of a non-tensor");
      return a[0];
    }
    return Error("unsupported class " + name);
  }

  std::string_view bytes_;
  size_t pos_, op_pos_ = 0;
  const std::string& source_;
  std::vector<PickleValuePtr> stack_;
  std::vector<size_t> marks_;
  std::vector<PickleValuePtr> memo_;
};

// 0x1950a86a20f9469cfc6c, little-endian (torch.serialization.MAGIC_NUMBER).
constexpr unsigned char kMagic[] = {0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};

}  // namespace

StatusOr<PickleValuePtr> ParsePickle(std::string_view bytes, size_t offset, size_t* end,
                                     const std::string& source) {
  if (offset > bytes.size()) return absl::DataLossError(source + ": offset past the end");
  Parser parser(bytes, offset, source);
  return parser.Run(end);
}

StatusOr<std::vector<std::pair<std::string, PickledTensor>>> StateDictEntries(
    const PickleValue& top, const std::string& source) {
  if (top.kind != Kind::kDict) {
    return absl::DataLossError(
        absl::StrCat(source, ": the saved object is a ", KindName(top.kind), ", not a state dict"));
  }
  std::vector<std::pair<std::string, PickledTensor>> out;
  for (size_t i = 0; i + 1 < top.items.size(); i += 2) {
    const PickleValue& key = *top.items[i];
    const PickleValue& value = *top.items[i + 1];
    if (key.kind != Kind::kString) {
      return absl::DataLossError(
          absl::StrCat(source, ": state dict key ", i / 2, " is a ", KindName(key.kind)));
    }
    if (value.kind != Kind::kTensor) {
      return absl::DataLossError(absl::StrCat(source, ": state dict entry '", key.text, "' is a ",
                                              KindName(value.kind), ", not a tensor"));
    }
    out.emplace_back(key.text, value.tensor);
  }
  return out;
}

bool LooksLikeLegacyTorchFile(std::string_view bytes) {
  // PROTO 2, LONG1 10, the magic bytes.
  if (bytes.size() < 14) return false;
  if (static_cast<uint8_t>(bytes[0]) != 0x80 || static_cast<uint8_t>(bytes[2]) != 0x8a ||
      static_cast<uint8_t>(bytes[3]) != sizeof(kMagic)) {
    return false;
  }
  return std::memcmp(bytes.data() + 4, kMagic, sizeof(kMagic)) == 0;
}

StatusOr<LegacyTorchFile> ParseLegacyTorchFile(std::string_view bytes, const std::string& source) {
  size_t pos = 0;
  ABLATE_ASSIGN_OR_RETURN(PickleValuePtr magic, ParsePickle(bytes, pos, &pos, source));
  if (magic->kind != Kind::kBigInt || magic->text.size() != sizeof(kMagic) ||
      std::memcmp(magic->text.data(), kMagic, sizeof(kMagic)) != 0) {
    return absl::DataLossError(source + ": not a PyTorch file (no torch.save magic number)");
  }
  ABLATE_ASSIGN_OR_RETURN(PickleValuePtr protocol, ParsePickle(bytes, pos, &pos, source));
  if (protocol->kind != Kind::kInt || protocol->int_value != 1001) {
    return absl::DataLossError(source + ": unsupported torch.save protocol version");
  }
  ABLATE_ASSIGN_OR_RETURN(PickleValuePtr sys_info, ParsePickle(bytes, pos, &pos, source));
  if (sys_info->kind == Kind::kDict) {
    for (size_t i = 0; i + 1 < sys_info->items.size(); i += 2) {
      if (sys_info->items[i]->text == "little_endian" &&
          sys_info->items[i + 1]->kind == Kind::kBool && !sys_info->items[i + 1]->int_value) {
        return absl::UnimplementedError(source + ": written on a big-endian machine");
      }
    }
  }
  ABLATE_ASSIGN_OR_RETURN(PickleValuePtr object, ParsePickle(bytes, pos, &pos, source));
  LegacyTorchFile out;
  ABLATE_ASSIGN_OR_RETURN(out.tensors, StateDictEntries(*object, source));
  ABLATE_ASSIGN_OR_RETURN(PickleValuePtr keys, ParsePickle(bytes, pos, &pos, source));
  if (keys->kind != Kind::kList) {
    return absl::DataLossError(source + ": the storage key list is missing");
  }
  std::map<std::string, const PickledTensor*> by_key;
  for (const auto& [name, t] : out.tensors) by_key.emplace(t.storage_key, &t);
  for (const auto& key : keys->items) {
    if (key->kind != Kind::kString) return absl::DataLossError(source + ": bad storage key");
    auto t = by_key.find(key->text);
    if (t == by_key.end()) {
      return absl::DataLossError(source + ": storage " + key->text + " is used by no tensor");
    }
    if (bytes.size() - pos < 8) {
      return absl::DataLossError(
          absl::StrCat(source, ": truncated (storage ", key->text, " at byte ", pos, ")"));
    }
    int64_t numel = 0;
    std::memcpy(&numel, bytes.data() + pos, 8);
    pos += 8;
    if (numel != t->second->storage_numel) {
      return absl::DataLossError(absl::StrCat(source, ": storage ", key->text, " has ", numel,
                                              " elements, its tensors say ",
                                              t->second->storage_numel));
    }
    const uint64_t n = static_cast<uint64_t>(numel) * t->second->element_size;
    if (n > bytes.size() - pos) {
      return absl::DataLossError(absl::StrCat(source, ": truncated (storage ", key->text, " needs ",
                                              n, " bytes at byte ", pos, ", file has ",
                                              bytes.size(), ")"));
    }
    out.storages.push_back({key->text, {pos, pos + n}});
    pos += n;
  }
  for (const auto& [k, t] : by_key) {
    bool found = false;
    for (const auto& s : out.storages) found = found || s.first == k;
    if (!found) return absl::DataLossError(source + ": no data for storage " + k);
  }
  return out;
}

}  // namespace ablate::detector
