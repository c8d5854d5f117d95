"""Write the stage notebooks from the cell lists below (run: python tools/nbgen.py).

Notebooks are source: thin, output-free, kernel ``python3``. Editing them in JupyterLab is fine too;
this script just keeps them consistent.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parents[1]


def notebook(title: str, cells: list) -> nbformat.NotebookNode:
    nb = new_notebook(cells=cells)
    nb.metadata = {
        "kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"},
        "language_info": {"name": "python"},
        "title": title,
    }
    for i, cell in enumerate(nb.cells):
        cell.id = f"c{i:02d}"
    return nb


def params(source: str):
    return new_code_cell(source.strip(), metadata={"tags": ["parameters"]})


def code(source: str):
    return new_code_cell(source.strip())


def md(source: str):
    return new_markdown_cell(source.strip())


NOTEBOOKS = {
    "00_intake": notebook(
        "00 数据接入与校验",
        [
            md(
                """
# 数据接入与校验 / Data intake

读取 EHR 员工、员工胜任力评价、候选人、题库、作答与人工评分六张表，按数据契约（`data/README.md`）逐行校验：
违反契约的行进入隔离表并注明文件、行号、列、取值与原因，**读入 = 接收 + 隔离**，不会静默丢弃任何数据。
未指定 `data_dir` 时，先用合成数据生成器在本次运行目录中生成一个已知真值的银行招聘队列。
"""
            ),
            params(
                """
run_dir: str = ""  # run directory, set by workbench run (empty: a new ad-hoc run under reports/adhoc/)
data_dir: str = ""  # folder with the input tables (empty: generate the synthetic cohort into the run)
dictionary_path: str = ""  # competency dictionary YAML (empty: data/competency_dictionary.yaml)
table_files: dict = {}  # per-table file overrides, e.g. {"answers": "/data/answers.xlsx"}
cohort_scenario: str = "fair"  # synthetic cohort scenario when data_dir is empty: fair | biased
cohort_candidates: int = 300  # synthetic cohort: number of candidates
cohort_employees_per_role: int = 60  # synthetic cohort: EHR employees per role
seed: int = 7  # random seed (same seed, same data)
lang: str = "zh"  # report language: zh | en
"""
            ),
            code(
                """
from IPython.display import display

from workbench.intake.stage import overview_figure, quarantine_overview, quarantine_sample, run_intake_stage
from workbench.pipeline import open_stage
from workbench.reports import section, show_figure, show_table

params = dict(data_dir=data_dir, dictionary_path=dictionary_path, table_files=table_files, cohort_scenario=cohort_scenario,
              cohort_candidates=cohort_candidates, cohort_employees_per_role=cohort_employees_per_role, seed=seed)
stage = open_stage("00_intake", run_dir=run_dir, params={**params, "lang": lang})
result = run_intake_stage(stage, **params)
assert result.reconciled, "intake counts do not reconcile"
result
"""
            ),
            code(
                """
display(section("隔离记录", "Quarantine", lang, note="按数据表与原因汇总；个人信息与作答原文在报告中隐藏，完整记录见运行目录中的 quarantine.csv。",
                note_en="Counts by table and reason; personal data and answer texts are hidden here, the full list is quarantine.csv in the run directory."))
display(show_table(quarantine_overview(result), empty_zh="没有隔离记录：所有行都符合数据契约。", empty_en="Nothing quarantined: every row meets the contracts.", lang=lang))
if len(result.quarantine):
    display(show_table(quarantine_sample(result)))
"""
            ),
            code(
                """
display(section("数据概览", "Overview", lang))
show_figure(overview_figure(result))
"""
            ),
            code(
                """
for name in result.tables:
    display(section(result.results[name].contract.title, name, lang, level=3))
    display(show_table(result.profile(name)))
"""
            ),
        ],
    ),
    "01_competency_model": notebook(
        "01 胜任力模型",
        [
            md(
                """
# 胜任力模型 / Competency model

从 EHR 在职员工的绩效与胜任力评价中，按岗位找出**区分高绩效者的胜任力**：每项胜任力的标准化效应量（Cohen's d，
高绩效者 vs 其他员工）及其自助法置信区间，以及一个非负 Lasso 回归（交叉验证选惩罚，一倍标准误规则）及其选中稳定性。
数据得出的权重与胜任力词典合并为带版本号的 `competency_model.json`，HR 可以通过参数固定或覆盖权重；
员工数不足的岗位会给出警告并改用等权。
"""
            ),
            params(
                """
run_dir: str = ""  # run directory, set by workbench run (empty: a new ad-hoc run under reports/adhoc/)
high_performer_grade: int = 4  # performance_grade at or above which an employee counts as a high performer
n_bootstrap: int = 100  # bootstrap resamples for confidence intervals and stability
min_employees: int = 100  # below this many employees a role gets equal weights and a warning
min_stability: float = 0.7  # a competency must be selected in this share of resamples to get data weight
pinned_weights: dict = {}  # fixed weights, e.g. {"compliance_awareness": 0.15} or {"teller.customer_first": 0.2}
seed: int = 7  # random seed
lang: str = "zh"  # report language: zh | en
"""
            ),
            code(
                """
from IPython.display import display

from workbench.competency.stage import effect_plot, run_competency_stage, weights_heatmap
from workbench.pipeline import open_stage
from workbench.reports import note, section, show_figure, show_table

params = dict(high_performer_grade=high_performer_grade, n_bootstrap=n_bootstrap, min_employees=min_employees,
              min_stability=min_stability, pinned_weights=pinned_weights, seed=seed)
stage = open_stage("01_competency_model", run_dir=run_dir, params={**params, "lang": lang})
model = run_competency_stage(stage, **params)
model
"""
            ),
            code(
                """
display(section("各岗位权重一览", "Weights by role", lang))
show_figure(weights_heatmap(model, lang=lang))
"""
            ),
            code(
                """
from workbench.competency.stage import recovery_table, truth_recovery

recovery = truth_recovery(model, stage.run_dir)
if recovery is not None:
    display(section("与合成数据真值对照", "Check against the synthetic ground truth", lang,
                    note="本次运行使用合成队列，真实驱动因素已知：斯皮尔曼等级相关衡量估计权重与真实权重的一致程度；员工数 ≥ 200 的岗位要求 ≥ 0.80。",
                    note_en="This run used the synthetic cohort, whose true drivers are known: Spearman rank correlation of estimated vs true weights; roles with ≥ 200 employees must reach 0.80."))
    display(show_table(recovery_table(recovery, lang=lang)))
"""
            ),
            code(
                """
display(section("数据权重与最终权重（逐岗位）", "Data-derived vs final weights, role by role", lang,
                note="效应量与系数附 95% 自助法置信区间；稳定性 = 自助重抽样中该胜任力被模型选中的比例。",
                note_en="Effect sizes and coefficients with 95% bootstrap CIs; stability = share of resamples in which the competency was selected."))
for role_id in model.roles["role_id"]:
    display(section(model.dictionary.roles[role_id].name, role_id, lang, level=3))
    show_figure(effect_plot(model, role_id, lang=lang))
    display(show_table(model.comparison_table(role_id)))
"""
            ),
        ],
    ),
    "02_question_bank": notebook(
        "02 题库生成与评估",
        [
            md(
                """
# 题库生成与评估 / Question bank

依据上一阶段的胜任力模型，为每个岗位的每项胜任力生成至少 3 道题，混合**情景题**（假设…你会如何…）、**行为题**
（请描述一次你…）和**文化题**（价值观与文化适配），每题对应一个行为指标，并附由 BARS 推导的 1–5 分评分要点。
生成由场景库与槽位填充完成，随机种子相同则结果相同。随后用与供应商基准评测相同的方法评估题库：覆盖度、
合规审查（婚育、年龄、户籍地域、民族、宗教、健康残疾、性别等法律红线与题目质量）、近似重复，以及基于试测评分的题目统计。
"""
            ),
            params(
                """
run_dir: str = ""  # run directory, set by workbench run (empty: a new ad-hoc run under reports/adhoc/)
per_competency: int = 3  # questions per competency and role (3 to 5)
roles: list = []  # role ids to generate for (empty: all roles)
redundancy_threshold: float = 0.7  # cosine similarity at or above which two questions of a role count as near-duplicates
pilot_candidates_per_role: int = 300  # simulated pilot candidates per role for item statistics (0: skip)
plant_pilot_faults: bool = True  # plant one DIF item and one non-measuring item in the simulated pilot
seed: int = 7  # random seed
lang: str = "zh"  # report language: zh | en
"""
            ),
            code(
                """
from IPython.display import display

from workbench.pipeline import open_stage
from workbench.questions.stage import bank_overview, run_question_stage
from workbench.reports import note, section, show_table

params = dict(per_competency=per_competency, roles=roles, redundancy_threshold=redundancy_threshold,
              pilot_candidates_per_role=pilot_candidates_per_role, plant_pilot_faults=plant_pilot_faults, seed=seed)
stage = open_stage("02_question_bank", run_dir=run_dir, params={**params, "lang": lang})
evaluation = run_question_stage(stage, **params)
display(section("题库概况", "Bank overview", lang))
display(show_table(bank_overview(evaluation)))
"""
            ),
            code(
                """
if pilot_candidates_per_role and plant_pilot_faults:
    import json
    faults = json.loads(stage.path("pilot_faults.json").read_text(encoding="utf-8"))
    display(note(f"说明：题目统计使用模拟试测评分。为演示检测能力，模拟时对 {', '.join(faults['dif'])} 人为植入了对女性不利的 DIF，"
                 f"并让 {', '.join(faults['bad'])} 不测量任何能力（随机评分）；报告应当把它们标记出来。",
                 f"Note: item statistics use simulated pilot ratings. To show what the analysis catches, {', '.join(faults['dif'])} was given a planted DIF against women "
                 f"and {', '.join(faults['bad'])} measures nothing (random ratings); the report should flag both.", lang))
evaluation
"""
            ),
            code(
                """
display(section("题目样例", "Sample questions", lang))
sample = evaluation.questions.groupby("type", group_keys=False).head(3)[["question_id", "type", "text", "rubric"]]
display(show_table(sample))
"""
            ),
        ],
    ),
    "03_scoring": notebook(
        "03 作答评分模型",
        [
            md(
                """
# 作答评分模型 / Answer scoring

以两位面试官评分的均值为目标，训练中文作答评分器（jieba/rjieba 分词的词与字 n-gram、带否定范围的胜任力证据、
行为面试 STAR 特征；与岗位无关的句子在评分前被过滤，堆砌字数不能换来分数），并按自动评分的行业验收标准
（ETS：QWK ≥ 0.70、r ≥ 0.70、人机一致性退化 ≤ 0.10、|SMD| ≤ 0.15、子群 |SMD| ≤ 0.10）逐项检验。
两种留出方式：**新作答**（评分器没见过这位候选人）和**新题目**（评分器没见过这道题，相当于新题库上线）。
"""
            ),
            params(
                """
run_dir: str = ""  # run directory, set by workbench run (empty: a new ad-hoc run under reports/adhoc/)
model: str = "ridge"  # model family: ridge (linear, exact explanations) | hgb (gradient boosting)
alpha: float = 1.0  # ridge penalty
tokenizer: str = "rjieba"  # word segmentation backend: rjieba | jieba
feature_groups: list = ["words", "chars", "evidence", "bei"]  # feature groups to use
tuning_grid: list = [{}, {"alpha": 3.0}]  # configurations compared by grouped CV (each overrides the parameters above)
cv_folds: int = 2  # folds for the unseen-answer and unseen-question evaluations
tuning_folds: int = 2  # folds for the tuning search
learning_curve_sizes: list = [10, 25]  # rated answers per question in the learning curve
demographics: list = []  # columns for subgroup SMD (empty: all audit attributes present)
seed: int = 7  # random seed
lang: str = "zh"  # report language: zh | en
"""
            ),
            code(
                """
from IPython.display import display

from workbench.pipeline import open_stage
from workbench.reports import note, section, show_figure, show_table
from workbench.scoring import render_acceptance
from workbench.scoring.stage import learning_curve_figure, run_scoring_stage

params = dict(model=model, alpha=alpha, tokenizer=tokenizer, feature_groups=feature_groups, tuning_grid=tuning_grid, cv_folds=cv_folds,
              tuning_folds=tuning_folds, learning_curve_sizes=learning_curve_sizes, demographics=demographics, seed=seed)
stage = open_stage("03_scoring", run_dir=run_dir, params={**params, "lang": lang})
result = run_scoring_stage(stage, **params)
display(note(f"训练与评估使用 {result.n_answers:,} 条有两位面试官评分的作答（另有 {result.left_out} 条不足两个评分，未使用）；"
             f"所选配置：{result.params['model']}，alpha={result.params['alpha']}，特征组 {'、'.join(result.params['feature_groups'])}。"
             f"模型文件 sha256 {result.card['sha256'][:16]}…（完整值见运行清单与模型卡）。",
             f"{result.n_answers:,} double-rated answers used ({result.left_out} with fewer ratings left out); chosen: {result.params['model']}, "
             f"alpha={result.params['alpha']}, features {', '.join(result.params['feature_groups'])}; model sha256 {result.card['sha256'][:16]}….", lang))
"""
            ),
            code(
                """
from IPython.display import HTML

display(section("验收表：新作答（按胜任力）", "Acceptance table: unseen answers, by competency", lang,
                note="每条作答的机器分都来自没见过该候选人的模型（按候选人分组的交叉验证）。",
                note_en="Every machine score comes from a model that never saw that candidate (cross-validation grouped by candidate)."))
display(HTML(render_acceptance(result.unseen_answers, by="competency", labels=result.labels)))
display(HTML(render_acceptance(result.unseen_answers_by_dimension, by="dimension", title="按维度汇总")))
"""
            ),
            code(
                """
display(section("验收表：新题目（按维度）", "Acceptance table: unseen questions, by dimension", lang,
                note="每条作答的机器分都来自没见过这道题的模型（按题目分组的交叉验证）——新题库上线时应预期的表现；目标 QWK ≥ 0.60。",
                note_en="Every machine score comes from a model that never saw the question (grouped by question): what to expect when a new bank goes live; target QWK ≥ 0.60."))
display(HTML(render_acceptance(result.unseen_questions_by_dimension, by="dimension")))
hh = result.unseen_answers[result.unseen_answers["hm_meets_hh"]]
display(note(f"人机一致性达到或超过两位面试官之间一致性的胜任力：{'、'.join(result.labels.get(c, c) for c in hh['competency']) or '无'}。",
             f"Competencies where human–machine agreement meets or exceeds human–human: {', '.join(hh['competency']) or 'none'}.", lang))
"""
            ),
            code(
                """
display(section("调参与学习曲线", "Tuning and learning curve", lang,
                note="调参结果同时作为运行指标发布，可用 workbench runs compare 比较两次调参。",
                note_en="Tuning results are published as run metrics; compare two tuning runs with workbench runs compare."))
display(show_table(result.tuning.round(3)))
if len(result.learning_curve):
    show_figure(learning_curve_figure(result.learning_curve, lang=lang))
    display(show_table(result.learning_curve.round(3)))
"""
            ),
            code(
                """
display(section("候选人维度得分（0–100）", "Candidate dimension scores (0–100)", lang,
                note="按胜任力模型权重在各维度内加权；综合分按维度权重加权。以下仅为分布概况，不含个人信息。",
                note_en="Weighted within each dimension by the competency model; overall by dimension weights. Distribution only, no personal data."))
cols = [c for c in result.candidate_scores.columns if c.startswith(("machine_", "human_"))]
display(show_table(result.candidate_scores[cols].describe().round(1).reset_index(names="统计量")))
"""
            ),
        ],
    ),
    "05_fairness_audit": notebook(
        "05 公平性与合规审计",
        [
            md(
                """
# 公平性与合规审计 / Fairness and compliance audit

面向合规审阅人：按性别、年龄段、户籍类型、生源地区、民族、院校层次、残疾及其交叉组合，检验“进入下一轮”的决定
（按岗位取机器综合分前 N%）和各维度得分是否对某一人群不利。下方为完整的审计报告（不含个人信息与代码），
同一份报告也以独立 HTML 保存在运行目录中，并在防篡改的审计日志中登记。
"""
            ),
            params(
                """
run_dir: str = ""  # run directory, set by workbench run (empty: a new ad-hoc run under reports/adhoc/)
attributes: list = ["gender", "age_band", "hukou_type", "region", "ethnicity", "school_tier", "disability"]  # audited attributes
intersections: list = [["gender", "hukou_type"]]  # attribute combinations audited together
advance_top_share: float = 0.2  # share of each role that advances (top by machine overall score)
min_share: float = 0.02  # categories under this share of known values are excluded from ratios (LL144)
alpha: float = 0.05  # significance level after Holm correction
n_boot: int = 100  # bootstrap resamples for intervals
suppress_below: int = 5  # cells with fewer people are suppressed in the published report
mitigation: bool = True  # retrain the scorer without regional proxy terms and compare
mitigation_folds: int = 2  # cross-validation folds for the mitigation comparison
audit_log: str = ""  # audit log file (empty: reports/audit_log.jsonl)
seed: int = 7  # random seed
lang: str = "zh"  # report language: zh | en
"""
            ),
            code(
                """
from IPython.display import display

from workbench.fairness.stage import run_audit_stage
from workbench.pipeline import open_stage
from workbench.reports import note

params = dict(attributes=attributes, intersections=intersections, advance_top_share=advance_top_share, min_share=min_share, alpha=alpha,
              n_boot=n_boot, suppress_below=suppress_below, mitigation=mitigation, mitigation_folds=mitigation_folds, audit_log=audit_log,
              seed=seed, lang=lang)
stage = open_stage("05_fairness_audit", run_dir=run_dir, params=params)
audit = run_audit_stage(stage, **params)
display(note(f"审计记录已写入审计日志（第 {stage.metrics['audit_log_seq']} 条），日志校验{'通过' if stage.metrics['audit_log_ok'] else '失败'}；"
             "用 workbench audit verify 可随时校验。",
             f"Recorded in the audit log (entry {stage.metrics['audit_log_seq']}); verification {'passed' if stage.metrics['audit_log_ok'] else 'FAILED'}; "
             "check it any time with workbench audit verify.", lang))
audit
"""
            ),
            code(
                """
from workbench.fairness.stage import distribution_figures
from workbench.reports import section, show_figure

display(section("得分分布（按性别、生源地区）", "Score distributions by gender and home region", lang))
for figure in distribution_figures(stage, ("gender", "region"), lang=lang):
    show_figure(figure)
"""
            ),
        ],
    ),
}


def main(argv: list[str]) -> int:
    names = argv or list(NOTEBOOKS)
    for name in names:
        path = ROOT / "notebooks" / f"{name}.ipynb"
        nbformat.write(NOTEBOOKS[name], str(path))
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
