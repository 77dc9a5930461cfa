"""nbgrader configuration of the course: run nbgrader commands from this folder."""

import os

c = get_config()  # noqa: F821  # pyright: ignore[reportUndefinedVariable] (nbgrader provides it)

c.CourseDirectory.course_id = "dropout"
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "release"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}

# Hints: each released notebook offers hint("name") (README, "Studying alone"). False releases
# them without hints: generate_assignment leaves out the cell that offers them and switches
# hint() off in each notebook (autograder/release.py). The instructor versions stay as they are.
c.ReleaseHints.offered = True
c.GenerateAssignment.preprocessors.append("autograder.release.ReleaseHints")
