"""Grader agreement and speed against math-verify, on a table of (gold, prediction) cases per class.

Run: ``OMP_NUM_THREADS=1 python bench/bench_grader.py [--repeats 5]`` (fetches nothing, ~1 minute on
one core). For every case it computes math-verify's verdict in the same run, the way TRL's reward and
math-verify's README call it (``verify(parse(gold), parse(prediction))`` with default settings), and
``oprd.verify.grade(prediction, gold)`` with default options, then prints:

- agreement per class, on boxed predictions, and overall (goals: >= 95% boxed, >= 90% overall);
- every disagreement, with both verdicts, so each one can be judged;
- credit given on ``piece`` cases, where the gold is only a piece of the predicted expression (goal 0);
- median and p90 time per call for both, and our median over math-verify's (goal <= 1.2).

Timing: each case is graded ``--repeats`` times, the two graders alternating; our parse cache is
cleared before every call, so no call of ours reuses an earlier gold (in training it would, for the
group of completions sharing a gold).
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
from collections import defaultdict

# (class, gold, prediction, piece): piece = the gold is only a part of the predicted expression, or the
# value of an unevaluated computation the prediction merely writes down (``13 + 92`` for 105).
CASES: list[tuple[str, str, str, bool]] = [
    # currency inside and outside boxes (GSM8K style)
    ("currency", "18", r"She pays \boxed{\$18}.", False),
    ("currency", "1000", r"\boxed{\$1,000}", False),
    ("currency", "18", r"\boxed{\$18.00}", False),
    ("currency", "18", r"\boxed{18\$}", False),
    ("currency", "2.5", r"\boxed{\$2.50}", False),
    ("currency", "19", r"\boxed{\$18}", False),
    ("currency", "18", r"The total is \$18, so \boxed{18}.", False),
    ("currency", "70000", r"\boxed{\$70,000}", False),
    # digit-group commas, only for a whole number
    ("commas", "1000", r"\boxed{1,000}", False),
    ("commas", "1234567", r"\boxed{1,234,567}", False),
    ("commas", "12102", r"\boxed{12,102}", False),
    ("commas", "-1000", r"\boxed{-1,000}", False),
    ("commas", "1100", r"\boxed{(1,100)}", False),
    ("commas", "1250", r"\boxed{[1,250]}", False),
    ("commas", "5000", r"\boxed{5{,}000}", False),
    ("commas", "111", r"\boxed{0,111}", False),
    ("commas", "1000", "There are 1,000 apples in total.", False),
    # tuples and points
    ("tuples", "$(5, 250)$", r"\boxed{(5,250)}", False),
    ("tuples", "$(12,102)$", r"\boxed{(12,102)}", False),
    ("tuples", "$(1, 2)$", r"\boxed{(2, 1)}", False),
    ("tuples", "$(3, -4)$", r"The point is \boxed{(3,-4)}", False),
    ("tuples", "$(0, \\frac{1}{2})$", r"\boxed{\left(0, \frac12\right)}", False),
    ("tuples", "12102", r"\boxed{(12,102)}", False),
    # intervals
    ("intervals", "$[1, 250]$", r"\boxed{[1,250]}", False),
    ("intervals", "$(-\\infty, 3)$", r"\boxed{(-\infty,3)}", False),
    ("intervals", "$[2, 5)$", r"\boxed{[2,5)}", False),
    ("intervals", "$(1, 5)$", r"\boxed{[1,5]}", False),
    ("intervals", "$(-\\infty, 0] \\cup [1, \\infty)$", r"\boxed{(-\infty,0]\cup[1,\infty)}", False),
    ("intervals", "5", r"So $x \in (1, 5)$.", True),
    # sets and lists of answers
    ("sets", "$\\{1,2,3\\}$", r"\boxed{\{3,2,1\}}", False),
    ("sets", "$1$ and $2$ and $3$", r"\boxed{\{1,2,3\}}", False),
    ("sets", "$1$ and $2$ and $3$", r"\boxed{3}", False),
    ("sets", "$\\{-1, 1\\}$", r"\boxed{-1, 1}", False),
    ("sets", "$\\{2, 4\\}$", r"\boxed{\{2, 5\}}", False),
    # fractions
    ("fractions", "1/2", r"\boxed{\frac{1}{2}}", False),
    ("fractions", "0.5", r"\boxed{\dfrac12}", False),
    ("fractions", "$\\frac{3}{4}$", r"\boxed{0.75}", False),
    ("fractions", "$\\frac{2}{3}$", r"\boxed{\frac{4}{6}}", False),
    ("fractions", "$\\frac{2}{3}$", r"\boxed{0.67}", False),
    ("fractions", "3", r"The answer is $\frac{2}{3}$.", True),
    ("fractions", "2", r"The answer is $\frac{1}{2}$", True),
    ("fractions", "$\\frac{2}{3}$", r"The answer is $\frac{2}{3}$.", False),
    # matrices and vectors
    ("matrices", "$\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}$", r"\boxed{\begin{pmatrix}1&2\\3&4\end{pmatrix}}", False),
    ("matrices", "$\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}$", r"\boxed{\begin{pmatrix}1&2\\3&5\end{pmatrix}}", False),
    ("matrices", "$\\begin{pmatrix}1\\\\2\\end{pmatrix}$", r"\boxed{\begin{pmatrix}1\\2\end{pmatrix}}", False),
    ("matrices", "4", r"$\begin{pmatrix}1&2\\3&4\end{pmatrix}$", True),
    ("matrices", "4", "The matrix is [[1, 2], [3, 4]]", True),
    # relations and equations
    ("relations", "3", r"\boxed{x = 3}", False),
    ("relations", "$x=3$", r"\boxed{3}", False),
    ("relations", "$x \\le 5$", r"\boxed{x \leq 5}", False),
    ("relations", "$y = 2x + 1$", r"\boxed{y=1+2x}", False),
    ("relations", "5", r"so $x < 5$", True),
    ("relations", "5", "so x < 5", True),
    # percentages
    ("percentages", "10", r"\boxed{10\%}", False),
    ("percentages", "$10\\%$", r"\boxed{10}", False),
    ("percentages", "0.1", r"\boxed{10\%}", False),
    ("percentages", "20", r"\boxed{10\%}", False),
    ("percentages", "0.25", "The answer is 25%", False),
    # several boxes
    ("multiple boxes", "$\\{1,2,3\\}$", r"\boxed{1}, \boxed{2}, \boxed{3}", False),
    ("multiple boxes", "$\\{1,2\\}$", r"\boxed{1} and \boxed{2}", False),
    ("multiple boxes", "2", r"First \boxed{1}. Wait, that is wrong: \boxed{2}", False),
    ("multiple boxes", "3", r"\boxed{2} \boxed{3}", False),
    ("multiple boxes", "7", r"\boxed{7}. Check: \boxed{7}", False),
    # thinking blocks (default options: the block is not stripped, as in math-verify)
    ("thinking", "3", r"<think>maybe \boxed{3}</think> so \boxed{3}", False),
    ("thinking", "3", r"<think>maybe 3</think> The answer is \boxed{3}", False),
    ("thinking", "4", r"<think>so \boxed{3}</think> final \boxed{4}", False),
    # decimal commas
    ("decimal commas", "0.111", r"\boxed{0,111}", False),
    ("decimal commas", "1,5", "The answer is 1.5", False),
    ("decimal commas", "1.5", r"\boxed{1,5}", False),
    ("decimal commas", "3.14", "It is about 3,14", False),
    # plain boxed numbers and expressions
    ("boxed answers", "42", r"So the answer is $\boxed{42}$.", False),
    ("boxed answers", "-7", r"\boxed{-7}", False),
    ("boxed answers", "$2\\sqrt{2}$", r"\boxed{\sqrt{8}}", False),
    ("boxed answers", "$\\pi$", r"\boxed{3.14}", False),
    ("boxed answers", "$2^{n-1}$", r"\boxed{2^{n-1}}", False),
    ("boxed answers", "$\\frac{\\sqrt{3}}{2}$", r"\boxed{\frac{\sqrt3}{2}}", False),
    ("boxed answers", "$x^2+2x+1$", r"\boxed{(x+1)^2}", False),
    ("boxed answers", "5", r"\boxed{6}", False),
    ("boxed answers", "10", r"\boxed{10.0}", False),
    ("boxed answers", "$\\text{(B)}$", r"\boxed{\text{(B)}}", False),
    ("boxed answers", "$3+2i$", r"\boxed{2i+3}", False),
    # unboxed answers: math-verify's extraction
    ("unboxed", "-4", "The answer is -4.", False),
    ("unboxed", "6", "10 - 4 = 6", False),
    ("unboxed", "3", "Final answer: $3$", False),
    ("unboxed", "$\\frac{1}{2}$", r"The final answer is $\frac{1}{2}$. I hope it is correct.", False),
    ("unboxed", "12", "We get 5 + 7 = 12 cookies.", False),
    ("unboxed", "7", "There is no answer here.", False),
    ("unboxed", "8", r"Therefore the answer is $2^3 = 8$.", False),
    ("unboxed", "$\\sqrt{2}$", r"So $x = \sqrt{2}$.", False),
    ("unboxed", "15", "Answer: 15", False),
    ("unboxed", "2.5", "It takes 2.5 hours.", False),
    ("unboxed", "9", "The sum is 4 and then 9", False),
    ("unboxed", "$\\frac{1}{2}$", r"<answer>\frac{1}{2}</answer>", False),
    ("unboxed", "2", r"<answer>\frac{1}{2}</answer>", True),
    ("unboxed", "2", r"The exponent in $x^2$ matters", True),
    ("unboxed", "6", "For any integer, 1 + 5 is calculated by adding the two numbers.", True),
    ("unboxed", "105", "To calculate 13 + 92, we can do the following:\n\n13 + 92", True),
    ("unboxed", "0.75", "The probability is 3/4", False),
]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed calls per case and grader")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        print("--repeats must be >= 1", file=sys.stderr)
        return 2
    logging.disable(logging.WARNING)  # math-verify's timeout notices
    from math_verify import parse, verify

    from oprd.verify import grade
    from oprd.verify.mathverify import library, parse_answer

    def theirs(gold: str, prediction: str) -> float:
        return float(verify(parse(gold), parse(prediction)))

    def ours(gold: str, prediction: str) -> float:
        parse_answer.cache_clear()
        return float(grade(prediction, gold) or 0.0)

    library()
    theirs("1", "1")
    agree: dict[str, list[bool]] = defaultdict(list)
    boxed, overall, disagreements, piece_credits = [], [], [], []
    our_times, their_times = [], []
    for name, gold, prediction, piece in CASES:
        their_verdict, our_verdict = theirs(gold, prediction), ours(gold, prediction)
        same = their_verdict == our_verdict
        agree[name].append(same)
        overall.append(same)
        if "\\boxed" in prediction:
            boxed.append(same)
        if not same:
            disagreements.append((name, gold, prediction, their_verdict, our_verdict))
        if piece and our_verdict:
            piece_credits.append((gold, prediction))
        for _ in range(args.repeats):
            start = time.perf_counter()
            theirs(gold, prediction)
            their_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            ours(gold, prediction)
            our_times.append(time.perf_counter() - start)

    print(f"{'class':<16} {'cases':>5} {'agree':>6}")
    for name, results in agree.items():
        print(f"{name:<16} {len(results):>5} {sum(results) / len(results):>6.1%}")
    print(f"{'boxed':<16} {len(boxed):>5} {sum(boxed) / len(boxed):>6.1%}   (goal >= 95%)")
    print(f"{'overall':<16} {len(overall):>5} {sum(overall) / len(overall):>6.1%}   (goal >= 90%)")
    print(f"credit for a piece of a larger expression: {len(piece_credits)} of "
          f"{sum(case[3] for case in CASES)} piece cases (goal 0) {piece_credits or ''}")
    print("disagreements (class | gold | prediction | math-verify | oprd):")
    for name, gold, prediction, their_verdict, our_verdict in disagreements:
        print(f"  {name} | {gold} | {prediction} | {their_verdict:.0f} | {our_verdict:.0f}")
    our_median, their_median = statistics.median(our_times), statistics.median(their_times)
    print(f"time per call, ms: oprd median {our_median * 1e3:.3f} p90 {_percentile(our_times, 0.9) * 1e3:.3f}; "
          f"math-verify median {their_median * 1e3:.3f} p90 {_percentile(their_times, 0.9) * 1e3:.3f}")
    print(f"oprd / math-verify median time: {our_median / their_median:.2f}x (goal <= 1.2x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
