"""pycocotools' COCOeval.summarize() table, as the test trainers in this folder print it."""
import sys

STATS = [("Precision", "AP", "0.50:0.95", "all", 100), ("Precision", "AP", "0.50", "all", 100),
         ("Precision", "AP", "0.75", "all", 100), ("Precision", "AP", "0.50:0.95", "small", 100),
         ("Precision", "AP", "0.50:0.95", "medium", 100),
         ("Precision", "AP", "0.50:0.95", "large", 100),
         ("Recall", "AR", "0.50:0.95", "all", 1), ("Recall", "AR", "0.50:0.95", "all", 10),
         ("Recall", "AR", "0.50:0.95", "all", 100), ("Recall", "AR", "0.50:0.95", "small", 100),
         ("Recall", "AR", "0.50:0.95", "medium", 100), ("Recall", "AR", "0.50:0.95", "large", 100)]


def summarize(ap):
    """The 12 lines of a table whose AP is `ap` and whose i-th other stat is ap + i/100, in
    pycocotools' format: ' {:<18} {} @[ IoU={:<9} | area={:>6s} | maxDets={:>3d} ] = {:0.3f}'."""
    for i, (title, kind, iou, area, dets) in enumerate(STATS):
        print(" {:<18} {} @[ IoU={:<9} | area={:>6s} | maxDets={:>3d} ] = {:0.3f}".format(
            "Average " + title, "(" + kind + ")", iou, area, dets, ap + 0.01 * i))
    sys.stdout.flush()
