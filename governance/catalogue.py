"""The control catalogues the product ships: frameworks and their controls, as data, and their loader.

Regulated enterprises are audited against a handful of frameworks (SOC 2, the NIST AI RMF, the EU AI Act,
GDPR, HIPAA, PCI DSS, ISO/IEC 42001). Policies and requirements map onto the controls of those frameworks,
so an auditor can go from "CC6.1" or "Art. 14" to the policies that meet it and the evidence behind them.

The catalogue holds identifiers and our own short titles only, never a standard's text: most of these
standards are copyrighted, and a title here is a paraphrase to recognise a control by, not its wording.
Read the standard itself for what a control requires.

``load_controls`` writes the catalogue into the database. A migration runs it with the historical app
registry (``load_controls_migration``) and ``manage.py load_controls`` runs it by hand. It is an upsert:
it creates what is missing and corrects names, versions and titles, but never deletes, because a control
that a policy maps to must survive a catalogue update, and users may add controls of their own.
"""

from typing import NamedTuple

from django.apps.registry import Apps
from django.db import DEFAULT_DB_ALIAS, transaction
from django.db.backends.base.schema import BaseDatabaseSchemaEditor


class CatalogueFramework(NamedTuple):
    code: str
    name: str
    version: str
    #: (identifier, short title) pairs, in the framework's own order.
    controls: tuple[tuple[str, str], ...]


SOC2 = CatalogueFramework(
    code="soc2",
    name="SOC 2 Trust Services Criteria",
    version="2017 (rev. 2022)",
    controls=(
        # CC1 Control environment
        ("CC1.1", "Commitment to integrity and ethical values"),
        ("CC1.2", "Board independence and oversight of internal control"),
        ("CC1.3", "Structures, reporting lines, authorities and responsibilities"),
        ("CC1.4", "Attracting, developing and retaining competent people"),
        ("CC1.5", "Holding people accountable for their internal control duties"),
        # CC2 Communication and information
        ("CC2.1", "Relevant, quality information to support internal control"),
        ("CC2.2", "Internal communication of control objectives and responsibilities"),
        ("CC2.3", "Communication with external parties about internal control"),
        # CC3 Risk assessment
        ("CC3.1", "Objectives clear enough to identify and assess risks"),
        ("CC3.2", "Identification and analysis of risks to objectives"),
        ("CC3.3", "Fraud considered when assessing risks"),
        ("CC3.4", "Changes that could affect internal control identified and assessed"),
        # CC4 Monitoring activities
        ("CC4.1", "Ongoing and separate evaluations of controls"),
        ("CC4.2", "Control deficiencies evaluated and communicated for correction"),
        # CC5 Control activities
        ("CC5.1", "Control activities chosen to reduce risks to acceptable levels"),
        ("CC5.2", "General controls over technology"),
        ("CC5.3", "Controls deployed through policies and procedures"),
        # CC6 Logical and physical access controls
        ("CC6.1", "Logical access security over protected information assets"),
        ("CC6.2", "User registration and authorisation before credentials are issued"),
        ("CC6.3", "Granting, changing and removing access by role and least privilege"),
        ("CC6.4", "Physical access to facilities and assets restricted"),
        ("CC6.5", "Protections removed from assets only once data is unrecoverable"),
        ("CC6.6", "Protection against threats from outside the system boundary"),
        ("CC6.7", "Data in transmission and movement restricted and protected"),
        ("CC6.8", "Unauthorised or malicious software prevented or detected"),
        # CC7 System operations
        ("CC7.1", "Detection of configuration changes and new vulnerabilities"),
        ("CC7.2", "Monitoring system components for anomalies and attacks"),
        ("CC7.3", "Security events evaluated to decide whether they are incidents"),
        ("CC7.4", "Response to identified security incidents"),
        ("CC7.5", "Recovery from security incidents"),
        # CC8 Change management
        ("CC8.1", "Changes authorised, designed, tested, approved and implemented"),
        # CC9 Risk mitigation
        ("CC9.1", "Mitigation of risks from business disruption"),
        ("CC9.2", "Risks from vendors and business partners assessed and managed"),
    ),
)

NIST_AI_RMF = CatalogueFramework(
    code="nist-ai-rmf",
    name="NIST AI Risk Management Framework",
    version="1.0",
    controls=(
        # GOVERN
        ("GOVERN 1.1", "Legal and regulatory requirements on AI understood and managed"),
        ("GOVERN 1.2", "Trustworthy AI characteristics built into policies and practices"),
        ("GOVERN 1.3", "Level of risk management effort set by risk tolerance"),
        ("GOVERN 1.4", "Risk management process and outcomes set by transparent policies"),
        ("GOVERN 1.5", "Ongoing monitoring and periodic review of risk management"),
        ("GOVERN 1.6", "Inventory of AI systems"),
        ("GOVERN 1.7", "Safe decommissioning and phase-out of AI systems"),
        ("GOVERN 2.1", "Roles, responsibilities and lines of communication documented"),
        ("GOVERN 2.2", "AI risk management training for staff and partners"),
        ("GOVERN 2.3", "Executive leadership accountable for AI risk decisions"),
        ("GOVERN 3.1", "Diverse teams inform AI risk decisions"),
        ("GOVERN 3.2", "Roles for human-AI configurations and oversight defined"),
        ("GOVERN 4.1", "Culture of critical thinking and safety first"),
        ("GOVERN 4.2", "Teams document and communicate AI risks and impacts"),
        ("GOVERN 4.3", "AI testing, incident identification and information sharing"),
        ("GOVERN 5.1", "Feedback from external stakeholders collected and integrated"),
        ("GOVERN 5.2", "Adjudicated feedback regularly fed into system design"),
        ("GOVERN 6.1", "Third-party AI risks addressed, including IP infringement"),
        ("GOVERN 6.2", "Contingency plans for failures of high-risk third-party data or AI"),
        # MAP
        ("MAP 1.1", "Intended purpose, context, laws and deployment setting documented"),
        ("MAP 1.2", "Interdisciplinary and diverse actors establish the context"),
        ("MAP 1.3", "Mission and goals for the AI technology documented"),
        ("MAP 1.4", "Business value or context of use defined or re-evaluated"),
        ("MAP 1.5", "Organisational risk tolerances determined and documented"),
        ("MAP 1.6", "System requirements elicited with socio-technical implications in view"),
        ("MAP 2.1", "Tasks and methods the AI system implements defined"),
        ("MAP 2.2", "Knowledge limits and human oversight of outputs documented"),
        ("MAP 2.3", "Scientific integrity and TEVV considerations documented"),
        ("MAP 3.1", "Potential benefits of the AI system examined and documented"),
        ("MAP 3.2", "Potential costs of AI errors, including non-monetary, examined"),
        ("MAP 3.3", "Targeted application scope specified and documented"),
        ("MAP 3.4", "Operator and practitioner proficiency requirements defined"),
        ("MAP 3.5", "Human oversight processes defined and documented"),
        ("MAP 4.1", "Legal and technology risks of components, incl. third-party, mapped"),
        ("MAP 4.2", "Internal risk controls for AI components identified"),
        ("MAP 5.1", "Likelihood and magnitude of each identified impact documented"),
        ("MAP 5.2", "Regular engagement with AI actors on impacts, with feedback"),
        # MEASURE
        ("MEASURE 1.1", "Metrics for the most significant mapped risks selected"),
        ("MEASURE 1.2", "Metrics and control effectiveness regularly reassessed"),
        ("MEASURE 1.3", "Independent experts and assessors involved in assessments"),
        ("MEASURE 2.1", "Test sets, metrics and TEVV tools documented"),
        ("MEASURE 2.2", "Human-subject evaluations meet requirements and are representative"),
        ("MEASURE 2.3", "Performance measured under deployment-like conditions"),
        ("MEASURE 2.4", "System behaviour monitored in production"),
        ("MEASURE 2.5", "Validity and reliability demonstrated; generalisation limits noted"),
        ("MEASURE 2.6", "Safety risks evaluated regularly; system can fail safely"),
        ("MEASURE 2.7", "Security and resilience evaluated and documented"),
        ("MEASURE 2.8", "Transparency and accountability risks examined"),
        ("MEASURE 2.9", "Model explained, validated and its output interpreted in context"),
        ("MEASURE 2.10", "Privacy risk examined and documented"),
        ("MEASURE 2.11", "Fairness and bias evaluated and results documented"),
        ("MEASURE 2.12", "Environmental impact and sustainability assessed"),
        ("MEASURE 2.13", "Effectiveness of TEVV metrics and processes evaluated"),
        ("MEASURE 3.1", "Existing, unanticipated and emergent risks tracked regularly"),
        ("MEASURE 3.2", "Risk tracking where measurement is hard or unavailable"),
        ("MEASURE 3.3", "End users can report problems and appeal outcomes"),
        ("MEASURE 4.1", "Deployment-context measurement informed by domain experts"),
        ("MEASURE 4.2", "Trustworthiness results in context validated with AI actors"),
        ("MEASURE 4.3", "Performance improvements or declines identified and documented"),
        # MANAGE
        ("MANAGE 1.1", "Decision whether the system meets its purpose and should proceed"),
        ("MANAGE 1.2", "Risk treatment prioritised by impact, likelihood and resources"),
        ("MANAGE 1.3", "Responses to high-priority risks planned and documented"),
        ("MANAGE 1.4", "Residual risks to acquirers and end users documented"),
        ("MANAGE 2.1", "Resources to manage risks weighed, incl. non-AI alternatives"),
        ("MANAGE 2.2", "Mechanisms to sustain the value of deployed systems"),
        ("MANAGE 2.3", "Response to and recovery from newly identified risks"),
        ("MANAGE 2.4", "Ability to supersede, disengage or deactivate a system"),
        ("MANAGE 3.1", "Third-party AI risks and benefits monitored and controlled"),
        ("MANAGE 3.2", "Pre-trained models monitored as part of system maintenance"),
        ("MANAGE 4.1", "Post-deployment monitoring plans, incl. appeal and override"),
        ("MANAGE 4.2", "Continual improvement built into system updates"),
        ("MANAGE 4.3", "Incidents and errors communicated, tracked and recovered from"),
    ),
)

EU_AI_ACT = CatalogueFramework(
    code="eu-ai-act",
    name="EU Artificial Intelligence Act",
    version="Regulation (EU) 2024/1689",
    controls=(
        ("Art. 9", "Risk management system"),
        ("Art. 10", "Data and data governance"),
        ("Art. 11", "Technical documentation"),
        ("Art. 12", "Record-keeping and automatic event logs"),
        ("Art. 13", "Transparency and information for deployers"),
        ("Art. 14", "Human oversight"),
        ("Art. 15", "Accuracy, robustness and cybersecurity"),
        ("Art. 17", "Quality management system"),
        ("Art. 26", "Obligations of deployers of high-risk AI systems"),
        ("Art. 72", "Post-market monitoring by providers"),
        ("Art. 73", "Reporting of serious incidents"),
    ),
)

GDPR = CatalogueFramework(
    code="gdpr",
    name="General Data Protection Regulation",
    version="Regulation (EU) 2016/679",
    controls=(
        ("Art. 5", "Principles for processing personal data"),
        ("Art. 6", "Lawful basis for processing"),
        ("Art. 9", "Special categories of personal data"),
        ("Art. 17", "Right to erasure"),
        ("Art. 22", "Automated individual decisions, including profiling"),
        ("Art. 30", "Records of processing activities"),
        ("Art. 35", "Data protection impact assessment"),
    ),
)

HIPAA = CatalogueFramework(
    code="hipaa",
    name="HIPAA Security Rule",
    version="45 CFR Part 164 Subpart C",
    controls=(
        # Administrative safeguards
        ("164.308(a)(1)", "Security management process"),
        ("164.308(a)(2)", "Assigned security responsibility"),
        ("164.308(a)(3)", "Workforce security"),
        ("164.308(a)(4)", "Information access management"),
        ("164.308(a)(5)", "Security awareness and training"),
        ("164.308(a)(6)", "Security incident procedures"),
        ("164.308(a)(7)", "Contingency plan"),
        ("164.308(a)(8)", "Periodic evaluation"),
        ("164.308(b)(1)", "Business associate contracts and arrangements"),
        # Technical safeguards
        ("164.312(a)(1)", "Access control"),
        ("164.312(b)", "Audit controls"),
        ("164.312(c)(1)", "Integrity of electronic health information"),
        ("164.312(d)", "Person or entity authentication"),
        ("164.312(e)(1)", "Transmission security"),
    ),
)

PCI_DSS = CatalogueFramework(
    code="pci-dss",
    name="PCI DSS",
    version="4.0.1",
    controls=(
        # Requirement 3: protect stored account data
        ("3.1", "Processes for protecting stored account data defined and understood"),
        ("3.2", "Keep stored account data to a minimum"),
        ("3.3", "Do not keep sensitive authentication data after authorisation"),
        ("3.4", "Restrict display and copying of full account numbers"),
        ("3.5", "Render stored account numbers unreadable"),
        ("3.6", "Protect keys that encrypt stored account data"),
        ("3.7", "Key management across the whole key lifecycle"),
        # Requirement 10: log and monitor all access
        ("10.1", "Processes for logging and monitoring defined and understood"),
        ("10.2", "Audit logs capture events to detect anomalies and support forensics"),
        ("10.3", "Protect audit logs from destruction and tampering"),
        ("10.4", "Review audit logs for anomalies and suspicious activity"),
        ("10.5", "Retain audit log history for analysis"),
        ("10.6", "Synchronise clocks across all systems"),
        ("10.7", "Detect, report and respond to failures of critical security controls"),
    ),
)

ISO_42001 = CatalogueFramework(
    code="iso-42001",
    name="ISO/IEC 42001 Annex A",
    version="2023",
    controls=(
        # A.2 Policies related to AI
        ("A.2.2", "Documented AI policy"),
        ("A.2.3", "AI policy aligned with other organisational policies"),
        ("A.2.4", "Periodic review of the AI policy"),
        # A.3 Internal organisation
        ("A.3.2", "Roles and responsibilities for AI defined and allocated"),
        ("A.3.3", "Process for raising concerns about AI systems"),
        # A.4 Resources for AI systems
        ("A.4.2", "Resources for AI systems identified and documented"),
        ("A.4.3", "Data resources documented"),
        ("A.4.4", "Tooling resources documented"),
        ("A.4.5", "System and computing resources documented"),
        ("A.4.6", "Human resources and competences documented"),
        # A.5 Assessing impacts of AI systems
        ("A.5.2", "Process for assessing AI system impacts"),
        ("A.5.3", "Impact assessments documented and retained"),
        ("A.5.4", "Impacts on individuals and groups assessed"),
        ("A.5.5", "Societal impacts assessed"),
        # A.6 AI system life cycle
        ("A.6.1.2", "Objectives for responsible AI development"),
        ("A.6.1.3", "Processes for responsible design and development"),
        ("A.6.2.2", "Requirements and specification of AI systems"),
        ("A.6.2.3", "Design and development decisions documented"),
        ("A.6.2.4", "Verification and validation of AI systems"),
        ("A.6.2.5", "Deployment planning and release"),
        ("A.6.2.6", "Operation and monitoring of AI systems"),
        ("A.6.2.7", "Technical documentation for relevant parties"),
        ("A.6.2.8", "Event logs recorded across the life cycle"),
        # A.7 Data for AI systems
        ("A.7.2", "Data management for development and enhancement"),
        ("A.7.3", "Acquisition of data"),
        ("A.7.4", "Data quality requirements"),
        ("A.7.5", "Data provenance recorded"),
        ("A.7.6", "Data preparation methods"),
        # A.8 Information for interested parties
        ("A.8.2", "Documentation and information for users"),
        ("A.8.3", "Means for external reporting of adverse impacts"),
        ("A.8.4", "Communicating incidents to users and others"),
        ("A.8.5", "Information obligations to interested parties"),
        # A.9 Use of AI systems
        ("A.9.2", "Processes for responsible use of AI systems"),
        ("A.9.3", "Objectives for responsible use"),
        ("A.9.4", "Use in line with intended use and documentation"),
        # A.10 Third-party and customer relationships
        ("A.10.2", "Responsibilities allocated across the AI supply chain"),
        ("A.10.3", "Supplier practices aligned with responsible AI"),
        ("A.10.4", "Customer expectations and needs considered"),
    ),
)

#: Every framework the product ships, in display order.
CATALOGUE: tuple[CatalogueFramework, ...] = (
    SOC2,
    NIST_AI_RMF,
    EU_AI_ACT,
    GDPR,
    HIPAA,
    PCI_DSS,
    ISO_42001,
)


def catalogue_size() -> tuple[int, int]:
    """(frameworks, controls) in the shipped catalogue."""
    return len(CATALOGUE), sum(len(framework.controls) for framework in CATALOGUE)


def load_controls(apps: Apps | None = None, *, using: str = DEFAULT_DB_ALIAS) -> tuple[int, int]:
    """Upsert the catalogue; returns (frameworks created or updated, controls created or updated).

    Creates missing frameworks and controls and corrects changed names, versions and titles. Never deletes:
    controls no longer in the catalogue, or added by users, stay, with the policies mapped to them.
    Pass a migration's historical ``apps``; without it the current models are used. Two queries per
    framework when nothing changed, plus one for all frameworks.
    """
    if apps is None:
        from governance.models.controls import Control, ControlFramework
    else:
        ControlFramework = apps.get_model("governance", "ControlFramework")
        Control = apps.get_model("governance", "Control")

    frameworks_changed = controls_changed = 0
    with transaction.atomic(using=using):
        frameworks = ControlFramework.objects.using(using)
        existing_frameworks = {
            framework.code: framework for framework in frameworks.filter(code__in=[spec.code for spec in CATALOGUE])
        }
        for spec in CATALOGUE:
            framework = existing_frameworks.get(spec.code)
            if framework is None:
                framework = frameworks.create(code=spec.code, name=spec.name, version=spec.version)
                frameworks_changed += 1
                existing_controls = {}
            else:
                if (framework.name, framework.version) != (spec.name, spec.version):
                    framework.name, framework.version = spec.name, spec.version
                    framework.save(using=using, update_fields=["name", "version"])
                    frameworks_changed += 1
                existing_controls = {
                    control.identifier: control for control in Control.objects.using(using).filter(framework=framework)
                }

            missing, retitled = [], []
            for identifier, title in spec.controls:
                control = existing_controls.get(identifier)
                if control is None:
                    missing.append(Control(framework=framework, identifier=identifier, title=title))
                elif control.title != title:
                    control.title = title
                    retitled.append(control)
            if missing:
                Control.objects.using(using).bulk_create(missing)
            if retitled:
                Control.objects.using(using).bulk_update(retitled, ["title"])
            controls_changed += len(missing) + len(retitled)
    return frameworks_changed, controls_changed


def load_controls_migration(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    """``migrations.RunPython(load_controls_migration, migrations.RunPython.noop)``."""
    load_controls(apps, using=schema_editor.connection.alias)
