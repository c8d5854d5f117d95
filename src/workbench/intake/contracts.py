"""Data contracts for the workbench's input tables, defined once.

The same specs drive validation (through pandera), the quarantine reasons, and the documentation in
``data/README.md`` (``workbench contracts --markdown`` regenerates it; a test keeps them in sync).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pandera.pandas as pa
from pandera import Check

from .._text import INVISIBLE_CATEGORIES, is_blank, is_invisible, normalize_column_name, strip_invisible

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
    "OPTIONAL_TABLES",
    "PROBATION_RESULTS",
    "QUESTION_TYPES",
    "OPTIONAL_TABLES",
    "TABLES",
    "TableContract",
    "contracts_markdown",
    "INVISIBLE_CATEGORIES",
    "NORMALISATION_RULES",
    "is_blank",
    "is_invisible",
    "normalize_column_name",
    "strip_invisible",
]

GENDERS = ("男", "女")
AGE_BANDS = ("24岁及以下", "25-29岁", "30-34岁", "35岁及以上")
HUKOU_TYPES = ("城镇", "农村")
ETHNICITY_GROUPS = ("汉族", "少数民族")
SCHOOL_TIERS = ("985", "211", "双一流", "普通本科", "专科", "海外")
YES_NO = ("是", "否")
QUESTION_TYPES = ("情景", "行为", "文化")
ANSWER_STATUSES = ("answered", "no_response")
PROBATION_RESULTS = ("passed", "failed")
PROVINCES = (
    "北京", "天津", "河北", "山西", "内蒙古", "辽宁", "吉林", "黑龙江", "上海", "江苏", "浙江", "安徽",
    "福建", "江西", "山东", "河南", "湖北", "湖南", "广东", "广西", "海南", "重庆", "四川", "贵州",
    "云南", "西藏", "陕西", "甘肃", "青海", "宁夏", "新疆", "香港", "澳门", "台湾",
)

Dtype = Literal["str", "int", "float", "datetime"]

# ----------------------------------------------------------------------------------------------------------------
# Text normalisation rules (shared by every reader and validator; documented in data/README.md from here)
# ----------------------------------------------------------------------------------------------------------------

#: What every reader, the validator and the CSV writer do to text; rendered into data/README.md (in Chinese, like the
#: rest of the contract section). Each rule names the reason codes it produces.
NORMALISATION_RULES: tuple[tuple[str, str], ...] = (
    ("编码",
     "CSV 依次识别 UTF-8（含 BOM）、UTF-16（须有 BOM）、GB18030（GBK/GB2312 的超集）和 Windows 代码页 936（报告为 `cp936`："
     "GBK 加上 0x80 = €）；其他编码（如 Big5）交给 charset-normalizer 判断。整个文件能确定编码时，个别记录里无法解码的字节"
     "只隔离该记录（`undecodable_bytes`，取值中以 `\\xNN` 显示）；二进制文件（含 NUL 字节且控制字节超过 5%）或无法确定编码的文件整体报错。"),
    ("记录与行",
     "读取器从字节流逐行读取，同时统计**物理行数**和**记录数**：每个物理行都归入表头、空行、数据记录或受损段之一"
     "（物理行 = 表头 + 空行 + 记录所占行，逐文件核对）；报告给出 `lines_in`、`blank_rows` 与 `rows_in`。"
     "`row` 是表格软件显示的行号（表头 = 第 1 行，空行计入），`line` 是记录起始的物理行（文本编辑器中的行号）。"
     "只由空白和不可见字符组成的行是空行，不计入 `rows_in`。Parquet 没有空行：每一行都是一条记录。"),
    ("未闭合的引号",
     "引号字段若吞并了后续记录，整段按物理行逐行隔离（`unclosed_quote`），每行一个行号，原因中写明受损段覆盖的行号与物理行；"
     "其后的记录照常读取，行号与修好引号后一致。判断依据：引号结束后紧跟其他字符（单行内为 `bad_quoting`）、文件在引号内结束，"
     "或字段内某一行本身含有一整条记录的分隔符——且该字段在不可跨行的列（编号、数值、取值列），或该行以与本记录同样格式的编号开头。"
     "超过 4,000,000 字的记录按 `record_too_large` 隔离并从下一行继续读取。"),
    ("逐行问题只隔离该行",
     "含 NUL 字节（`nul_byte`）、无法解码的字节（`undecodable_bytes`）、超过 1,000,000 字的字段（`field_too_large`）、"
     "比表头多出非空字段（`malformed_row`）的记录只隔离该记录，不影响文件的其余部分。整个文件只在无法读取时报错："
     "文件缺失、为空、是二进制、编码无法确定、XLSX/Parquet 损坏、表头损坏或列名重复。"),
    ("列名",
     "去掉首尾空白与不可见字符并做 NFKC 规范化：全角 `ｒａｔｉｎｇ` 即 `rating`。规范化后重复的列名（如 `rating` 与 `ｒａｔｉｎｇ`）"
     "报错，错误信息写明文件、列名和两列的位置；空白表头单元格命名为 `_unnamed_<列号>`。"),
    ("空值",
     "只由 Unicode 空白（含全角空格 U+3000）、控制字符、零宽与格式字符（Cf 类：U+200B、U+200C、U+200D、U+2060、U+FEFF、"
     "U+00AD 等）及填充字符（U+3164、U+2800 等）组成的单元格为空；取值首尾的这些字符被去掉，中间的保留。"
     "`status=answered` 而作答文本为空（包括只有零宽字符）隔离为 `empty_answer`。"),
    ("数值列",
     "先做 NFKC（全角数字 `４` 即 `4`）再解析；非有限数或绝对值大于 10¹² 按 `out_of_range` 隔离。"),
    ("Parquet",
     "二进制（bytes）列按 UTF-8 解码，无法解码的单元格隔离（`binary_not_utf8`），不会把 `b'…'` 当作文本；列表、结构等嵌套取值"
     "隔离（`not_scalar`）；数值、日期列转为文本后再按契约校验。"),
    ("XLSX",
     "读取第一个工作表；公式取保存时的计算结果。数字单元格若用补零的数字格式显示（如格式 `000000` 把 456 显示为 `000456`，"
     "或 `\"E\"00000`），按显示的文本读入，编号不会丢掉前导零；其他数字格式读取数值本身。"),
    ("输出 CSV",
     "工作台写出的每个 CSV（隔离清单、阶段产物、批量评分结果、合成数据）都经同一个写出器：UTF-8（隔离清单等带 BOM），"
     "记录以 CRLF 结束，含逗号、引号、CR 或 LF 的字段加引号（RFC 4180）；首个可见字符为 `=`、`+`、`-`、`@`（含全角 `＝＋－＠`，"
     "也包括前面有空白、控制或零宽字符的情况）或以制表符、CR、单引号开头的文本单元格前加一个单引号，表格软件不会执行公式；"
     "写出的文件经本读取器读回，每个单元格与写出的完全一致（加了单引号的仍带单引号；NUL 写作 `\\x00`）。"),
)


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
    multiline: bool | None = None  # may a value hold line breaks? None: only free text (str, no allowed values, not a key)

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
    def single_line_columns(self) -> list[str]:
        """Columns whose values cannot span lines: numbers, dates, allowed-value lists, keys and references.

        A line break inside one of them that is followed by more fields is the mark of an unclosed quote that
        swallowed later records (the reader quarantines the span). Free text (answers, question texts, names) may
        hold line breaks. ``ColumnSpec.multiline`` overrides the rule.
        """
        ids = set(self.key) | {fk.column for fk in self.foreign_keys}
        out = []
        for col in self.columns:
            free = col.dtype == "str" and col.allowed is None and col.name not in ids
            if not (free if col.multiline is None else col.multiline):
                out.append(col.name)
        return out

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
                ColumnSpec(
                    "human_review_requested", "str",
                    "候选人是否申请由人工作出决定（《个人信息保护法》第二十四条；可选列）：是 = 一律转人工复核，不由系统单独决定；空值视为否",
                    required=False, nullable=True, allowed=YES_NO,
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
# Optional inputs: used when present, never required by the intake stage (read by the package that needs them:
# outcomes → the validity study, wecom_recipients → WeCom delivery).
OPTIONAL_TABLES: dict[str, TableContract] = {
    t.name: t
    for t in (
        TableContract(
            name="outcomes",
            title="入职后结果（可选）",
            default_file="outcomes.csv",
            key=("candidate_id",),
            description="已录用候选人入职后的结果，供效度研究（按候选人编号关联）。只列已录用者：不在表中的候选人视为未录用；"
            "评级为空表示尚无评级（如试用期未通过或已离职）。可选表：没有它时不做效度研究。",
            columns=(
                ColumnSpec("candidate_id", description="候选人编号（已录用）", **_ID),
                ColumnSpec("performance_rating", "int", "入职第一年绩效评级（1=待改进 … 5=卓越）", nullable=True, min_value=1, max_value=5),
                ColumnSpec("probation_result", "str", "试用期结果：passed=通过，failed=未通过", required=False, nullable=True, allowed=PROBATION_RESULTS),
                ColumnSpec("potential_rating", "int", "潜力/学习能力评级（1–5）", required=False, nullable=True, min_value=1, max_value=5),
            ),
            foreign_keys=(ForeignKey("candidate_id", "candidates", "candidate_id"),),
        ),
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
    lines.append("### 文本规范化与读取规则（所有入口共用：intake、`workbench score`、`workbench bench questions`）")
    lines.append("")
    for title, rule in NORMALISATION_RULES:
        lines.append(f"- **{title}**：{rule}")
    lines.append("")
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
        lines.append("")
        if table.foreign_keys:
            refs = "；".join(f"`{fk.column}` → `{fk.table}.{fk.target_column}`" for fk in table.foreign_keys)
            lines.append(f"引用：{refs}。")
        free = [c.name for c in table.columns if c.name not in table.single_line_columns]
        lines.append(f"- 可含换行的列（自由文本）：{'、'.join(f'`{c}`' for c in free) or '无'}；其余列中的换行若带出更多字段，按未闭合的引号处理。")
        for rule in table.row_rules:
            lines.append(f"- 行规则：{rule}")
        lines.append("")
    lines.append("<!-- contracts:end -->")
    return "\n".join(lines)
