"""Evaluation by group and across datasets: every metric per age group, site or population."""

from ._report import file_stem, group_summary_lines, markdown_table, write_group_report

__all__ = ["file_stem", "group_summary_lines", "markdown_table", "write_group_report"]
