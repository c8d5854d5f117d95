"""Data contracts for the workbench's input tables, defined once.

The same specs drive validation (through pandera), the quarantine reasons, and the documentation in
``data/README.md`` (``workbench contracts --markdown`` regenerates it; a test keeps them in sync).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pandera.pandas as pa
from pandera import Check

__all__ = [
    "AGE_BANDS",
    "ColumnSpec",
    "ForeignKey",
    "GENDERS",
    "HUKOU_TYPES",
    "ETHNICITY_GROUPS",
    "PROVINCES",
    "SCHOOL_TIERS",
    "ANSWER_STATUSES",
    "QUESTION_TYPES",
    "OPTIONAL_TABLES",
    "TABLES",
    "TableContract",
    "contracts_markdown",
]

GENDERS = ("男", "女")
AGE_BANDS = ("24岁及以下", "25-29岁", "30-34岁", "35岁及以上")
HUKOU_TYPES = ("城镇", "农村")
ETHNICITY_GROUPS = ("汉族", "少数民族")
SCHOOL_TIERS = ("985", "211", "双一流", "普通本科", "专科", "海外")
YES_NO = ("是", "否")
QUESTION_TYPES = ("情景", "行为", "文化")
ANSWER_STATUSES = ("answered", "no_response")
PROVINCES = (
    "北京", "天津", "河北", "山西", "内蒙古", "辽宁", "吉林", "黑龙江", "上海", "江苏", "浙江", "安徽",
    "福建", "江西", "山东", "河南", "湖北", "湖南", "广东", "广西", "海南", "重庆", "四川", "贵州",
    "云南", "西藏", "陕西", "甘肃", "青海", "宁夏", "新疆", "香港", "澳门", "台湾",
)

Dtype = Literal["str", "int", "float", "datetime"]


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    dtype: Dtype
    description: str
    required: bool = True  # the column must exist in the file
    nullable: bool = False  # a row may leave it empty (counted as unknown)
    allowed: tuple[str, ...] | None = None
    min_value: float | None = None
    max_value: float | None = None
    max_length: int | None = None
    pii: bool = False  # personal data: never shown in reviewer-facing reports
    sensitive: bool = False  # a protected attribute used only by the fairness audit

    def checks(self) -> list[Check]:
        checks: list[Check] = []
        if self.allowed is not None:
            checks.append(Check.isin(list(self.allowed)))
        if self.min_value is not None or self.max_value is not None:
            checks.append(Check.in_range(self.min_value, self.max_value))
        if self.dtype == "str" and not self.nullable:
            checks.append(Check.str_length(min_value=1))
        if self.max_length is not None:
            checks.append(Check.str_length(max_value=self.max_length))
        return checks

    def rule_text(self) -> str:
        parts = []
        if self.allowed is not None:
            shown = self.allowed if len(self.allowed) <= 8 else self.allowed[:8] + ("…",)
            parts.append("取值：" + " / ".join(shown))
        if self.min_value is not None or self.max_value is not None:
            parts.append(f"范围：{self.min_value:g} – {self.max_value:g}")
        if self.max_length is not None:
            parts.append(f"最长 {self.max_length} 字")
        return "；".join(parts)


@dataclass(frozen=True)
class ForeignKey:
    column: str
    table: str  # another table name, or "dictionary.roles" / "dictionary.competencies"
    target_column: str


@dataclass(frozen=True)
class TableContract:
    name: str
    title: str
    default_file: str
    key: tuple[str, ...]
    columns: tuple[ColumnSpec, ...]
    foreign_keys: tuple[ForeignKey, ...] = ()
    description: str = ""
    row_rules: tuple[str, ...] = field(default=())  # documented cross-column rules, enforced in validate.py

    def column(self, name: str) -> ColumnSpec:
        return next(c for c in self.columns if c.name == name)

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def schema(self) -> pa.DataFrameSchema:
        dtype_map = {"str": str, "int": "Int64", "float": "Float64", "datetime": "datetime64[ns]"}
        return pa.DataFrameSchema(
            {
                c.name: pa.Column(dtype_map[c.dtype], c.checks(), nullable=c.nullable, required=c.required, coerce=False)
                for c in self.columns
            },
            strict=False,
            name=self.name,
        )


_ID = dict(dtype="str", max_length=64)

TABLES: dict[str, TableContract] = {
    t.name: t
    for t in (
        TableContract(
            name="employees",
            title="EHR 在职员工",
            default_file="employees.csv",
            key=("employee_id",),
            description="在岗员工的岗位、司龄与年度绩效，用于从高绩效者反推胜任力模型。",
            columns=(
                ColumnSpec("employee_id", description="员工编号（假名化）", **_ID),
                ColumnSpec("role_id", "str", "岗位编号，须在胜任力词典中"),
                ColumnSpec("branch", "str", "所属机构/支行", nullable=True, max_length=64),
                ColumnSpec("tenure_years", "float", "司龄（年）", min_value=0, max_value=50),
                ColumnSpec("performance_score", "float", "年度绩效得分（0–100）", min_value=0, max_value=100),
                ColumnSpec("performance_grade", "int", "绩效等级（1=待改进 … 5=卓越）", min_value=1, max_value=5),
            ),
            foreign_keys=(ForeignKey("role_id", "dictionary.roles", "id"),),
        ),
        TableContract(
            name="employee_competencies",
            title="EHR 员工胜任力评价",
            default_file="employee_competencies.csv",
            key=("employee_id", "competency_id"),
            description="上级对员工各项胜任力的 1–5 级行为锚定评价（长表：每人每项一行）。",
            columns=(
                ColumnSpec("employee_id", description="员工编号", **_ID),
                ColumnSpec("competency_id", "str", "胜任力编号，须在胜任力词典中"),
                ColumnSpec("rating", "int", "评价等级 1–5", min_value=1, max_value=5),
            ),
            foreign_keys=(
                ForeignKey("employee_id", "employees", "employee_id"),
                ForeignKey("competency_id", "dictionary.competencies", "id"),
            ),
        ),
        TableContract(
            name="candidates",
            title="候选人",
            default_file="candidates.csv",
            key=("candidate_id",),
            description="参加 AI 面试的候选人。人口学字段只用于公平性审计，空值计为“未知”。",
            columns=(
                ColumnSpec("candidate_id", description="候选人编号（假名化）", **_ID),
                ColumnSpec("role_id", "str", "应聘岗位编号，须在胜任力词典中"),
                ColumnSpec("name", "str", "姓名（个人信息，不进入审阅报告）", nullable=True, max_length=32, pii=True),
                ColumnSpec("gender", "str", "性别", nullable=True, allowed=GENDERS, sensitive=True),
                ColumnSpec("age_band", "str", "年龄段", nullable=True, allowed=AGE_BANDS, sensitive=True),
                ColumnSpec("hukou_type", "str", "户籍类型", nullable=True, allowed=HUKOU_TYPES, sensitive=True),
                ColumnSpec("home_province", "str", "生源地（省级）", nullable=True, allowed=PROVINCES, sensitive=True),
                ColumnSpec("ethnicity", "str", "民族", nullable=True, allowed=ETHNICITY_GROUPS, sensitive=True),
                ColumnSpec("school_tier", "str", "毕业院校层次", nullable=True, allowed=SCHOOL_TIERS, sensitive=True),
                ColumnSpec("disability", "str", "是否残疾人", nullable=True, allowed=YES_NO, sensitive=True),
                ColumnSpec("site", "str", "面试批次所属机构（用于分层检验）", nullable=True, max_length=64),
                ColumnSpec("batch", "str", "招聘批次", nullable=True, max_length=64),
                ColumnSpec(
                    "wecom_external_userid", "str", "企业微信外部联系人 ID（可选列；用于给候选人发送结果，空值则不发送并报告）",
                    required=False, nullable=True, max_length=64, pii=True,
                ),
            ),
            foreign_keys=(ForeignKey("role_id", "dictionary.roles", "id"),),
        ),
        TableContract(
            name="questions",
            title="面试题库",
            default_file="questions.csv",
            key=("question_id",),
            description="每道题对应一个岗位的一项胜任力。",
            columns=(
                ColumnSpec("question_id", description="题目编号", **_ID),
                ColumnSpec("role_id", "str", "岗位编号"),
                ColumnSpec("competency_id", "str", "胜任力编号"),
                ColumnSpec("type", "str", "题型", allowed=QUESTION_TYPES),
                ColumnSpec("text", "str", "题干", max_length=400),
                ColumnSpec("indicator_id", "str", "对应的行为指标编号", required=False, nullable=True, max_length=64),
                ColumnSpec("rubric", "str", "1–5 分评分要点", required=False, nullable=True),
            ),
            foreign_keys=(
                ForeignKey("role_id", "dictionary.roles", "id"),
                ForeignKey("competency_id", "dictionary.competencies", "id"),
            ),
            row_rules=("competency_id 必须属于该 role_id 的胜任力模型",),
        ),
        TableContract(
            name="answers",
            title="作答文本",
            default_file="answers.csv",
            key=("answer_id",),
            description="候选人对每道题的作答（语音转写后的中文文本）。",
            columns=(
                ColumnSpec("answer_id", description="作答编号", **_ID),
                ColumnSpec("candidate_id", "str", "候选人编号"),
                ColumnSpec("question_id", "str", "题目编号"),
                ColumnSpec("status", "str", "作答状态：answered=已作答，no_response=未作答/超时", allowed=ANSWER_STATUSES),
                ColumnSpec("answer_text", "str", "作答文本", nullable=True, max_length=5000),
            ),
            foreign_keys=(
                ForeignKey("candidate_id", "candidates", "candidate_id"),
                ForeignKey("question_id", "questions", "question_id"),
            ),
            row_rules=(
                "status=answered 时 answer_text 不得为空（空白也算空）",
                "question_id 的岗位须与候选人应聘岗位一致",
            ),
        ),
        TableContract(
            name="ratings",
            title="人工评分",
            default_file="ratings.csv",
            key=("answer_id", "rater_id"),
            description="面试官按 BARS 给出的 1–5 分评分；每条作答通常有两位评分人。",
            columns=(
                ColumnSpec("answer_id", description="作答编号", **_ID),
                ColumnSpec("rater_id", description="评分人编号", **_ID),
                ColumnSpec("rating", "int", "评分 1–5", min_value=1, max_value=5),
            ),
            foreign_keys=(ForeignKey("answer_id", "answers", "answer_id"),),
        ),
    )
}

# Order in which tables are validated: a foreign key may only point at an earlier table.
TABLE_ORDER = ("employees", "employee_competencies", "candidates", "questions", "answers", "ratings")

# Optional inputs: used when present, never required by the intake stage (read by the package that needs them).
OPTIONAL_TABLES: dict[str, TableContract] = {
    t.name: t
    for t in (
        TableContract(
            name="wecom_recipients",
            title="企业微信接收人（招聘人员映射）",
            default_file="wecom_recipients.csv",
            key=("role_id", "site", "requisition_id", "wecom_userid"),
            description=(
                "可选。把岗位（可细到机构、招聘需求）映射到负责的招聘人员企业微信 UserID，用于发送结果通知；"
                "最具体的匹配优先（招聘需求 > 岗位+机构 > 岗位），同一层级的多人都会收到。没有匹配的候选人会被报告，不会猜测接收人。"
            ),
            columns=(
                ColumnSpec("role_id", "str", "岗位编号，须在胜任力词典中"),
                ColumnSpec("site", "str", "机构（与候选人的 site 一致）；空值或无此列表示该岗位的所有机构", required=False, nullable=True, max_length=64),
                ColumnSpec("requisition_id", "str", "招聘需求编号；空值表示不限招聘需求", required=False, nullable=True, max_length=64),
                ColumnSpec("wecom_userid", "str", "招聘人员的企业微信 UserID（成员账号，须在应用可见范围内）", max_length=64),
                ColumnSpec("recruiter_name", "str", "招聘人员姓名（不进入审阅报告）", required=False, nullable=True, max_length=32, pii=True),
            ),
            foreign_keys=(ForeignKey("role_id", "dictionary.roles", "id"),),
            row_rules=("同一 role_id、site、requisition_id 与 wecom_userid 的组合只能出现一次（空值视为相同）",),
        ),
    )
}


def contracts_markdown() -> str:
    """The contract section of ``data/README.md``, generated from the specs above."""
    lines = ["<!-- contracts:begin (generated by `workbench contracts --markdown`; do not edit by hand) -->", ""]
    for table in [TABLES[name] for name in TABLE_ORDER] + list(OPTIONAL_TABLES.values()):
        optional = table.name in OPTIONAL_TABLES
        lines.append(f"### `{table.name}` — {table.title}{'（可选）' if optional else ''}")
        lines.append("")
        lines.append(f"{table.description} 默认文件名 `{table.default_file}`；主键：`{', '.join(table.key)}`。")
        lines.append("")
        lines.append("| 列 | 类型 | 必需列 | 可空 | 规则 | 说明 |")
        lines.append("|---|---|---|---|---|---|")
        for col in table.columns:
            flags = []
            if col.pii:
                flags.append("个人信息")
            if col.sensitive:
                flags.append("敏感属性，仅用于审计")
            note = col.description + (f"（{'，'.join(flags)}）" if flags else "")
            lines.append(
                f"| `{col.name}` | {col.dtype} | {'是' if col.required else '否'} | {'是' if col.nullable else '否'} "
                f"| {col.rule_text() or '—'} | {note} |"
            )
        if table.foreign_keys:
            lines.append("")
            refs = "；".join(f"`{fk.column}` → `{fk.table}.{fk.target_column}`" for fk in table.foreign_keys)
            lines.append(f"引用：{refs}。")
        for rule in table.row_rules:
            lines.append(f"- 行规则：{rule}")
        lines.append("")
    lines.append("<!-- contracts:end -->")
    return "\n".join(lines)
