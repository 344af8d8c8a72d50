// The 12 lines pycocotools' COCOeval.summarize() prints, one at a time:
//
//   " Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.312"
//
// The one definition of that line, shared by the diary parser (diary_parser.h: summary blocks
// pasted into notes) and the worker's reader of a trainer's stdout (worker/summary_stream.h).
// Each caller decides what a table is (blank lines, order, what breaks it); this header only
// reads one line and says which of the 12 stats it is.
//
// Matching: anywhere in the line (a log prefix such as a timestamp is fine), any letter case,
// any spacing; trailing blanks (a CR of a CRLF file) are ignored. The value is the whole rest of
// the line after "=": "0.312 (2 s)" is a line whose value cannot be read, not 0.312.
//
// Pure functions; safe from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ablate::diary {

// One summarize() line, as printed.
struct SummaryLine {
  bool precision = true;  // "(AP)"; false: "(AR)"
  std::string iou;        // as printed: "0.50:0.95", "0.50", "0.75", ...
  std::string area;       // lower case: "all", "small", "medium", "large", or another word
  int64_t max_dets = 0;
  std::string value;  // the text after "=", blanks around it removed: "0.312", "-1.000", "n/a"
};

// Cheap pre-check: the line mentions "average precision" or "average recall" (any case). A
// line that passes it but not MatchSummaryLine is a broken summary line, not prose.
bool LooksLikeSummaryLine(std::string_view line);

// A longer line is never a summary line (summarize() prints about 80 bytes; std::regex recurses
// once per character it matches, so an unbounded line could overflow the stack).
inline constexpr size_t kMaxSummaryLineBytes = 2048;

// The line's parts; nullopt when it is not of the summarize() form or longer than
// kMaxSummaryLineBytes.
std::optional<SummaryLine> MatchSummaryLine(std::string_view line);

// Which of the 12 stats (index into common/coco_stats.h kCocoStatNames) the line is, or -1 for an
// area summarize() never prints (see SummaryAreaKnown) or an IoU it never prints for that
// line. The three AR lines over area=all (AR1, AR10, AR100) differ only in maxDets: summarize()
// prints them for COCOeval.params.maxDets in its order, ascending ([1, 10, 100] by default; a
// user may change it, e.g. [1, 10, 300]). `ar_all_before` holds the maxDets of the AR area=all
// lines this table had before this one: the line is the next of the three (AR1, then AR10, then
// AR100) when its maxDets is larger than theirs; else it is out of order and gets the place its
// maxDets has among them (AR10 printed before AR1 reads as AR1 where AR10 was due).
int SummaryStatIndex(const SummaryLine& line, const std::vector<int64_t>& ar_all_before);

// True for AR over area=all at IoU 0.50:0.95 (AR1, AR10, AR100): the lines whose maxDets
// SummaryStatIndex needs to remember.
bool IsArOverAllAreas(const SummaryLine& line);

// True for "all", "small", "medium" and "large".
bool SummaryAreaKnown(const SummaryLine& line);

// The value as a number: the whole value text must be one ("0.312", "-1.000", "1e-3"); nullopt
// otherwise ("0.4x0", "n/a", "nan").
std::optional<double> SummaryValue(const SummaryLine& line);

}  // namespace ablate::diary
