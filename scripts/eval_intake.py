"""`make eval-intake`: language accuracy and concern macro-F1 on tests/data/intake_eval.tsv."""

from pathlib import Path

from rich.console import Console
from rich.table import Table

from services.intake.core.taxonomy import Classifier
from services.intake.evaluation import evaluate, load
from services.intake.language_detector import LinguaDetector
from services.intake.taxonomy import default_taxonomy

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "intake_eval.tsv"


def main() -> None:
    examples = load(DATA)
    report = evaluate(examples, classifier=Classifier(default_taxonomy()), detector=LinguaDetector())
    console = Console()
    console.print(f"[bold]Intake evaluation[/] on {report.examples} labelled messages ({DATA.name})")
    console.print(f"language accuracy  {report.language_accuracy:.3f}")
    console.print(f"concern accuracy   {report.concern_accuracy:.3f}")
    console.print(f"concern macro-F1   {report.macro_f1:.3f}")
    by_concern = Table("concern", "F1")
    for concern, f1 in report.f1_by_concern.items():
        by_concern.add_row(concern, f"{f1:.3f}")
    by_language = Table("language", "concern accuracy")
    for language, accuracy in report.concern_accuracy_by_language.items():
        by_language.add_row(language, f"{accuracy:.3f}")
    console.print(by_concern, by_language)
    console.print(
        "most frequent confusions (labelled → predicted): "
        + ", ".join(f"{truth}→{got} x{n}" for truth, got, n in report.confusions[:8])
    )


if __name__ == "__main__":
    main()
