#include "scene.hpp"

#include <array>
#include <cmath>
#include <vector>

#include <ode/ode.h>

namespace cubes {

namespace {

constexpr float kSmallEdge = 1.0f;
constexpr float kLargeEdge = 5.0f;
constexpr float kGridSpacing = 1.6f;
constexpr int kGridSide = 30;
constexpr int kMaxContacts = 4;
constexpr double kAttractRadius = 12.0;

void initialise_ode_once()
{
    static const bool initialised = [] {
        return dInitODE2(0) != 0;
    }();
    (void)initialised;
}

}  // namespace

struct CubeScene::Impl
{
    dWorldID world = nullptr;
    dSpaceID space = nullptr;
    dJointGroupID contacts = nullptr;
    std::vector<dBodyID> bodies;  // [0] is the player's
    std::uint64_t ticks = 0;
    bool katamari = true;

    static void near_callback(void* data, dGeomID a, dGeomID b)
    {
        auto* impl = static_cast<Impl*>(data);
        const dBodyID body_a = dGeomGetBody(a);
        const dBodyID body_b = dGeomGetBody(b);
        if (body_a && body_b && dAreConnected(body_a, body_b))
            return;
        std::array<dContact, kMaxContacts> contact{};
        const int count = dCollide(a, b, kMaxContacts, &contact[0].geom, sizeof(dContact));
        for (int i = 0; i < count; ++i)
        {
            contact[i].surface.mode = dContactApprox1 | dContactSoftCFM;
            contact[i].surface.mu = 0.8;
            contact[i].surface.soft_cfm = 0.001;
            const dJointID joint = dJointCreateContact(impl->world, impl->contacts, &contact[i]);
            dJointAttach(joint, body_a, body_b);
        }
    }

    dBodyID add_box(float edge, float density, float x, float y, float yaw)
    {
        const dBodyID body = dBodyCreate(world);
        dMass mass;
        dMassSetBox(&mass, density, edge, edge, edge);
        dBodySetMass(body, &mass);
        dBodySetPosition(body, x, y, edge / 2);
        dMatrix3 rotation;
        dRFromAxisAndAngle(rotation, 0, 0, 1, yaw);
        dBodySetRotation(body, rotation);
        const dGeomID geom = dCreateBox(space, edge, edge, edge);
        dGeomSetBody(geom, body);
        return body;
    }
};

CubeScene::CubeScene(bool katamari) : m_impl(std::make_unique<Impl>())
{
    initialise_ode_once();
    Impl& impl = *m_impl;
    impl.katamari = katamari;
    dRandSetSeed(1);  // quickstep shuffles constraints with ODE's global generator: every scene starts alike
    impl.world = dWorldCreate();
    impl.space = dHashSpaceCreate(nullptr);
    impl.contacts = dJointGroupCreate(0);
    dWorldSetGravity(impl.world, 0, 0, -9.81);
    dWorldSetQuickStepNumIterations(impl.world, 12);
    dWorldSetContactSurfaceLayer(impl.world, 0.001);
    // Resting cubes sleep, as in the article: that is what makes most of the scene free to replicate.
    dWorldSetAutoDisableFlag(impl.world, 1);
    dWorldSetAutoDisableLinearThreshold(impl.world, 0.05);
    dWorldSetAutoDisableAngularThreshold(impl.world, 0.05);
    dWorldSetAutoDisableSteps(impl.world, 20);

    dCreatePlane(impl.space, 0, 0, 1, 0);
    dCreatePlane(impl.space, 1, 0, 0, -kArenaHalfSize);
    dCreatePlane(impl.space, -1, 0, 0, -kArenaHalfSize);
    dCreatePlane(impl.space, 0, 1, 0, -kArenaHalfSize);
    dCreatePlane(impl.space, 0, -1, 0, -kArenaHalfSize);

    const float corner = kArenaHalfSize - kLargeEdge;
    impl.bodies.push_back(impl.add_box(kLargeEdge, 2.0f, -corner, -corner, 0));
    const float origin = -kGridSpacing * (kGridSide - 1) / 2;
    for (int row = 0; row < kGridSide; ++row)
        for (int column = 0; column < kGridSide; ++column)
            impl.bodies.push_back(impl.add_box(kSmallEdge, 1.0f, origin + kGridSpacing * static_cast<float>(column),
                                               origin + kGridSpacing * static_cast<float>(row),
                                               0.1f * static_cast<float>((row * 7 + column * 3) % 5)));
}

CubeScene::~CubeScene()
{
    dJointGroupDestroy(m_impl->contacts);
    dSpaceDestroy(m_impl->space);
    dWorldDestroy(m_impl->world);
}

void CubeScene::step(const PlayerInput& input)
{
    Impl& impl = *m_impl;
    const dBodyID player = impl.bodies.front();
    if (input.move_x != 0 || input.move_y != 0)
    {
        dBodyEnable(player);
        const dReal mass = 2.0 * kLargeEdge * kLargeEdge * kLargeEdge;
        dBodyAddForce(player, input.move_x * mass * 18, input.move_y * mass * 18, 0);
        // Torque about the axis perpendicular to the motion makes it tumble forward, as Fiedler's cube rolls.
        dBodyAddTorque(player, -input.move_y * mass * 25, input.move_x * mass * 25, 0);
    }
    if (input.jump)
    {
        dBodyEnable(player);
        const dReal* velocity = dBodyGetLinearVel(player);
        dBodySetLinearVel(player, velocity[0] * 1.5, velocity[1] * 1.5, 9.0);
    }
    if (input.attract)
    {
        const dReal* centre = dBodyGetPosition(player);
        for (std::size_t i = 1; i < impl.bodies.size(); ++i)
        {
            const dReal* p = dBodyGetPosition(impl.bodies[i]);
            const dReal dx = centre[0] - p[0], dy = centre[1] - p[1], dz = centre[2] - p[2];
            const dReal distance = std::sqrt(dx * dx + dy * dy + dz * dz);
            if (distance > kAttractRadius || distance < 0.01)
                continue;
            dBodyEnable(impl.bodies[i]);
            const dReal strength = 30.0 / distance;
            dBodyAddForce(impl.bodies[i], dx * strength, dy * strength, dz * strength);
        }
    }
    dSpaceCollide(impl.space, &impl, &Impl::near_callback);
    dWorldQuickStep(impl.world, kStepSeconds);
    dJointGroupEmpty(impl.contacts);
    ++impl.ticks;
}

std::size_t CubeScene::cube_count() const
{
    return m_impl->bodies.size();
}

eustress::net::Vec3 CubeScene::position(std::size_t index) const
{
    const dReal* p = dBodyGetPosition(m_impl->bodies[index]);
    return {static_cast<float>(p[0]), static_cast<float>(p[1]), static_cast<float>(p[2])};
}

eustress::net::Quat CubeScene::rotation(std::size_t index) const
{
    const dReal* q = dBodyGetQuaternion(m_impl->bodies[index]);  // ODE's order is w, x, y, z
    return {static_cast<float>(q[0]), static_cast<float>(q[1]), static_cast<float>(q[2]), static_cast<float>(q[3])};
}

bool CubeScene::at_rest(std::size_t index) const
{
    return dBodyIsEnabled(m_impl->bodies[index]) == 0;
}

std::uint64_t CubeScene::ticks() const
{
    return m_impl->ticks;
}

PlayerInput CubeScene::bot_input() const
{
    const std::uint64_t tick = m_impl->ticks;
    // A slowly turning heading with a pause now and then: the cube crosses the grid, hits walls, turns back.
    const double seconds = static_cast<double>(tick) / 60.0;
    if (std::fmod(seconds, 10.0) > 8.5)
        return {};
    const double heading = seconds * 2.0 * 3.14159265358979 / 14.0 + std::sin(seconds * 0.7);
    const bool jump = tick % 180 == 90;
    const bool attract = m_impl->katamari && std::fmod(seconds, 6.0) < 2.5;  // gather a ball, carry it, let go
    return {static_cast<float>(std::cos(heading)), static_cast<float>(std::sin(heading)), jump, attract};
}

}  // namespace cubes
